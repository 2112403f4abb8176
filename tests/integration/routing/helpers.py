"""Test-side helpers for routing: publish a customer's message and find its conversation."""

from __future__ import annotations

import uuid
from typing import Any

from shared.contracts import ContactInfo, Identity, InboundMessage
from tests.support import Platform, eventually


def new_identity(channel: str = "whatsapp") -> Identity:
    return Identity(channel=channel, external_id=f"+549{uuid.uuid4().int % 10**10:010d}")  # type: ignore[arg-type]


async def customer_writes(
    platform: Platform, identity: Identity, text: str = "hola", name: str | None = None
) -> InboundMessage:
    msg = InboundMessage(
        channel=identity.channel,
        identity=identity,
        contact=ContactInfo(name=name),
        external_message_id=f"wamid.{uuid.uuid4().hex}",
        message_type="text",
        text=text,
    )
    await platform.ctx.bus.publish(msg)
    return msg


async def message_stored(platform: Platform, event_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        doc = await platform.db("routing")["messages"].find_one({"_id": event_id})
        return doc

    return await eventually(probe)


async def open_conversation(
    platform: Platform, identity: Identity | None = None, text: str = "hola"
) -> str:
    """A customer writes; the id of the conversation routing opened for them."""
    identity = identity or new_identity()
    msg = await customer_writes(platform, identity, text)
    stored = await message_stored(platform, msg.event_id)
    return str(stored["conversation_id"])


async def conversation(platform: Platform, conversation_id: str, user: str = "ana") -> Any:
    response = await platform.http.get(
        f"/api/conversations/{conversation_id}", headers=platform.auth(user, "staff")
    )
    assert response.status_code == 200, response.text
    return response.json()


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
