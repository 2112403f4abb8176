"""Anonymizing a customer erases the texts routing stored for them (across services)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.customers.conftest import EventProbe, identify, inbound, new_phone
from tests.support import Platform, eventually


async def test_anonymize_erases_the_customers_message_texts_in_routing_and_keeps_the_count(
    platform: Platform, customer_events: EventProbe
):
    secret = f"mi dirección es Calle Falsa {uuid.uuid4().hex[:6]}"
    message = inbound(new_phone(), "Sofía Borrar")
    message = message.model_copy(update={"text": secret})
    customer_id = await identify(platform, customer_events, message)
    auth = platform.auth()

    async def conversation_with_text() -> dict[str, Any] | None:
        r = await platform.http.get(
            "/api/conversations", params={"customer_id": customer_id}, headers=auth
        )
        if r.status_code != 200 or not r.json()["items"]:
            return None
        detail = await platform.http.get(
            f"/api/conversations/{r.json()['items'][0]['conversation_id']}", headers=auth
        )
        texts = [m.get("text") for m in detail.json().get("messages", [])]
        return detail.json() if secret in texts else None

    before = await eventually(conversation_with_text)
    count_before = len(before["messages"])

    r = await platform.http.post(f"/api/customers/{customer_id}/anonymize", headers=auth)
    assert r.status_code == 200

    async def erased() -> dict[str, Any] | None:
        detail = await platform.http.get(
            f"/api/conversations/{before['conversation_id']}", headers=auth
        )
        body = detail.json()
        texts = [m.get("text") or "" for m in body["messages"]]
        if any("Calle Falsa" in t for t in texts) or "Sofía" in (body.get("customer_name") or ""):
            return None
        return body

    after = await eventually(erased)
    assert len(after["messages"]) == count_before
