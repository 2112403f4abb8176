"""The data export names the customer's conversations, learned from routing's events."""

from __future__ import annotations

from tests.integration.customers.conftest import EventProbe, identify, inbound, new_phone
from tests.support import Platform, eventually


async def test_export_lists_the_conversation_ids_routing_opened_for_the_customer(
    platform: Platform, customer_events: EventProbe
):
    customer_id = await identify(platform, customer_events, inbound(new_phone(), "Exportable"))
    auth = platform.auth()

    async def routing_ids() -> list[str] | None:
        r = await platform.http.get(
            "/api/conversations", params={"customer_id": customer_id}, headers=auth
        )
        return [i["conversation_id"] for i in r.json()["items"]] or None

    expected = await eventually(routing_ids)

    async def exported() -> dict | None:
        r = await platform.http.get(f"/api/customers/{customer_id}/export", headers=auth)
        body = r.json()
        return body if body["conversation_ids"] == sorted(expected) else None

    body = await eventually(exported)
    assert body["customer"]["id"] == customer_id or body["customer"].get("customer_id") == (
        customer_id
    )
