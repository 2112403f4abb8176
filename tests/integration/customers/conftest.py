"""Tools for the customers tests: a probe queue on the real exchange, inbound builders."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from shared.contracts import ContactInfo, CustomerEvent, CustomerSnapshot, Identity, InboundMessage
from tests.queues import settle
from tests.support import Platform, eventually


class EventProbe:
    """Every `customer.*` event the platform publishes, as the bus delivered it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def of(self, customer_id: str, action: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["customer"]["customer_id"] == customer_id
            and (action is None or e["action"] == action)
        ]

    async def wait_for(self, customer_id: str, action: str, count: int = 1) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = self.of(customer_id, action)
            return found if len(found) >= count else None

        return await eventually(probe)

    async def drain(self, platform: Platform) -> None:
        """Every `customer.*` event owed so far has arrived.

        Customers handles its messages concurrently, so a sentinel alone proves only that what
        was published before it arrived, not that the handlers are done: first wait until
        customers' queues have nothing ready or unacknowledged (every message handled), then
        publish a sentinel and wait for it (everything they published has arrived)."""
        await settle(platform.settings, "customers.inbound", "customers.conversation")
        sentinel = f"sentinel-{uuid.uuid4()}"
        await platform.ctx.bus.publish(
            CustomerEvent(action="updated", customer=CustomerSnapshot(customer_id=sentinel))
        )
        await self.wait_for(sentinel, "updated")


@pytest.fixture(scope="session")
async def customer_events(platform: Platform) -> AsyncIterator[EventProbe]:
    probe = EventProbe()
    connection = await aio_pika.connect_robust(platform.settings.amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(platform.ctx.bus.exchange.name)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="customer.#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            probe.events.append(json.loads(message.body))

    await queue.consume(on_message)
    yield probe
    await connection.close()


def new_phone() -> str:
    return f"+54911{random.randint(10_000_000, 99_999_999)}"


def inbound(
    phone: str,
    name: str | None = None,
    *,
    channel: str = "whatsapp",
    external_id: str | None = None,
    email: str | None = None,
    document_number: str | None = None,
    event_id: str | None = None,
) -> InboundMessage:
    external_id = external_id or phone
    msg_id = event_id or f"wamid.{uuid.uuid4().hex}"
    return InboundMessage(
        event_id=msg_id,
        channel=channel,  # type: ignore[arg-type]
        identity=Identity(channel=channel, external_id=external_id),  # type: ignore[arg-type]
        contact=ContactInfo(name=name, phone=phone, email=email, document_number=document_number),
        external_message_id=msg_id,
        message_type="text",
        text="hola",
    )


async def identified(platform: Platform, message: InboundMessage) -> str:
    """Wait until customers attributed the message's identity to a customer (identity and
    profile written; a known identity writes nothing per message); the customer's id."""
    db = platform.db("customers")

    async def attributed() -> str | None:
        identity = await db["identities"].find_one({"_id": message.identity.key})
        if identity is None:
            return None
        profile = await db["customers"].find_one({"_id": identity["customer_id"]}, {"_id": 1})
        return identity["customer_id"] if profile else None

    return await eventually(attributed)


async def identify(platform: Platform, probe: EventProbe, message: InboundMessage) -> str:
    """Publish an inbound message; the id of the customer it was attributed to, once
    customers handled it (a known identity's message writes nothing to wait for: drain)."""
    await platform.ctx.bus.publish(message)
    await probe.drain(platform)
    return await identified(platform, message)


async def new_customer(
    platform: Platform, probe: EventProbe, name: str | None = "Cliente Prueba", **kw: Any
) -> tuple[str, str]:
    """A fresh customer first seen on WhatsApp; returns (customer id, phone)."""
    phone = kw.pop("phone", None) or new_phone()
    return await identify(platform, probe, inbound(phone, name, **kw)), phone
