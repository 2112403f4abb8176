"""After anonymization the number is a stranger again: its next message starts a new customer
(named by the channel), the anonymized one keeps nothing, and nothing personal from before
shows in services or tables. End to end over the real broker."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.customers.conftest import (
    EventProbe,
    identified,
    identify,
    inbound,
    new_phone,
)
from tests.integration.routing.helpers import message_stored
from tests.support import Platform, eventually


async def conversation(platform: Platform, conversation_id: str) -> dict[str, Any]:
    response = await platform.http.get(
        f"/api/conversations/{conversation_id}", headers=platform.auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_message_after_anonymization_starts_a_new_customer_and_nothing_old_shows(
    platform: Platform, customer_events: EventProbe
) -> None:
    auth = platform.auth()
    marker = uuid.uuid4().hex[:8]
    old_name, new_name = f"Nora Vieja{marker}", f"Pablo Nuevo{marker}"
    phone = new_phone()
    first = inbound(phone, old_name)
    old_id = await identify(platform, customer_events, first)
    old_conversation = (await message_stored(platform, first.event_id))["conversation_id"]

    async def named() -> dict[str, Any] | None:
        body = await conversation(platform, old_conversation)
        return body if body.get("customer_name") == old_name else None

    await eventually(named)

    async def created() -> Any:
        # Tickets learns the conversation from routing's events: until then it answers 404.
        response = await platform.http.post(
            "/api/services",
            json={"conversation_id": old_conversation, "reason": "sin conexión"},
            headers=platform.auth("luis", "agent"),
        )
        return response if response.status_code != 404 else None

    service = await eventually(created)
    assert service.status_code == 201, service.text
    assert service.json()["customer_name"] == old_name

    anonymized = await platform.http.post(f"/api/customers/{old_id}/anonymize", headers=auth)
    assert anonymized.status_code == 200, anonymized.text
    await customer_events.wait_for(old_id, "anonymized")

    later = inbound(phone, new_name)
    await platform.ctx.bus.publish(later)
    new_id = await identified(platform, later)
    assert new_id != old_id

    # Customers: a new customer with the channel's name; the anonymized one keeps nothing.
    new = (await platform.http.get(f"/api/customers/{new_id}", headers=auth)).json()
    assert new["full_name"] == new_name and not new["anonymized"]
    assert [i["key"] for i in new["identities"]] == [f"whatsapp:{phone}"]
    old = (await platform.http.get(f"/api/customers/{old_id}", headers=auth)).json()
    assert old["anonymized"] is True and old["identities"] == []
    assert old_name not in str(old) and phone not in str(old)
    await customer_events.wait_for(new_id, "identified")
    customers = platform.db("customers")["customers"]

    async def unstaged() -> bool:
        # The announcement was staged with the new profile and, once published, removed.
        doc = await customers.find_one({"_id": new_id})
        return doc is not None and doc["outbox"] == [] and "outbox_pending" not in doc

    await eventually(unstaged)

    # Routing: the message opened a new conversation, which ends up with the new customer;
    # the anonymized conversation keeps its customer id and nothing personal.
    new_conversation = (await message_stored(platform, later.event_id))["conversation_id"]
    assert new_conversation != old_conversation

    async def carried() -> dict[str, Any] | None:
        body = await conversation(platform, new_conversation)
        return body if body.get("customer_id") == new_id else None

    assert (await eventually(carried))["customer_name"] == new_name
    before = await conversation(platform, old_conversation)
    assert before["customer_id"] == old_id
    assert old_name not in str(before) and new_name not in str(before)

    # Services and tables: nothing personal from before.
    async def service_anonymous() -> dict[str, Any] | None:
        response = await platform.http.get(
            f"/api/services/{service.json()['service_id']}", headers=auth
        )
        return response.json() if response.json()["customer_name"] is None else None

    await eventually(service_anonymous)
    services = await platform.http.get("/api/services", params={"estado": "todos"}, headers=auth)
    assert old_name not in services.text

    async def new_row() -> dict[str, Any] | None:
        response = await platform.http.get(
            "/api/tables/chats", params={"estado": "todos", "q": new_name}, headers=auth
        )
        rows = response.json()["rows"]
        return rows[0] if rows else None

    assert (await eventually(new_row))["id"] == new_conversation
    for table in ("chats", "servicios"):
        response = await platform.http.get(
            f"/api/tables/{table}", params={"estado": "todos", "page_size": 500}, headers=auth
        )
        assert response.status_code == 200, response.text
        assert old_name not in response.text, table
        copied = await platform.http.get(
            f"/api/tables/{table}/copy", params={"estado": "todos"}, headers=auth
        )
        assert old_name not in copied.text, table
