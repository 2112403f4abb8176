"""Unmerge is exact in routing too: after merging two customers with conversations and
undoing it, each conversation shows its own customer (id, name, document) again, and so
does the chats table. End to end over the real broker."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.customers.conftest import EventProbe, identify, inbound, new_phone
from tests.integration.routing.helpers import message_stored
from tests.support import Platform, eventually


async def customer_with_conversation(
    platform: Platform, probe: EventProbe, name: str, document: str
) -> tuple[str, str]:
    """(customer id, conversation id) of a customer who wrote once and has a document."""
    message = inbound(new_phone(), name)
    customer_id = await identify(platform, probe, message)
    conversation_id = (await message_stored(platform, message.event_id))["conversation_id"]
    edit = await platform.http.patch(
        f"/api/customers/{customer_id}", json={"document_number": document}, headers=platform.auth()
    )
    assert edit.status_code == 200, edit.text
    return customer_id, conversation_id


async def shows(
    platform: Platform, conversation_id: str, customer_id: str, name: str, document: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await platform.http.get(
            f"/api/conversations/{conversation_id}", headers=platform.auth()
        )
        body: dict[str, Any] = response.json()
        seen = (body.get("customer_id"), body.get("customer_name"), body.get("document_number"))
        return body if seen == (customer_id, name, document) else None

    return await eventually(probe, timeout=20)


async def test_after_unmerge_each_conversation_shows_its_own_customer_again(
    platform: Platform, customer_events: EventProbe
) -> None:
    marker = uuid.uuid4().hex[:6]
    survivor_name, absorbed_name = f"Marta Sur{marker}", f"Juana Norte{marker}"
    survivor, survivor_chat = await customer_with_conversation(
        platform, customer_events, survivor_name, "30111222"
    )
    absorbed, absorbed_chat = await customer_with_conversation(
        platform, customer_events, absorbed_name, "27999888"
    )
    await shows(platform, survivor_chat, survivor, survivor_name, "30111222")
    await shows(platform, absorbed_chat, absorbed, absorbed_name, "27999888")

    merged = await platform.http.post(
        f"/api/customers/{survivor}/merge",
        json={"other_id": absorbed, "note": "misma persona"},
        headers=platform.auth(),
    )
    assert merged.status_code == 200, merged.text
    await shows(platform, absorbed_chat, survivor, survivor_name, "30111222")

    undone = await platform.http.post(
        f"/api/customers/{survivor}/unmerge",
        json={"merge_id": merged.json()["merge_id"], "note": "eran dos personas"},
        headers=platform.auth(),
    )
    assert undone.status_code == 200, undone.text
    await shows(platform, absorbed_chat, absorbed, absorbed_name, "27999888")
    await shows(platform, survivor_chat, survivor, survivor_name, "30111222")

    async def row() -> dict[str, Any] | None:
        response = await platform.http.get(
            "/api/tables/chats",
            params={"estado": "todos", "q": absorbed_name},
            headers=platform.auth(),
        )
        rows = [r for r in response.json()["rows"] if r["id"] == absorbed_chat]
        return rows[0] if rows else None

    assert (await eventually(row))["cliente"] == absorbed_name
