"""Inbound messages reach customers through the real broker and database."""

from __future__ import annotations

import asyncio
import uuid

from services.customers.handlers import CustomerHandlers
from services.customers.store import CustomerStore
from shared.contracts import CallEvent, CustomerEvent, DeliveryStatus, Identity
from shared.ids import first_customer_id
from shared.outbox import EmbeddedOutbox
from tests.integration.customers.conftest import (
    EventProbe,
    identified,
    identify,
    inbound,
    new_customer,
    new_phone,
)
from tests.support import Platform, eventually


async def test_twenty_concurrent_first_messages_of_one_identity_create_exactly_one_customer(
    platform: Platform, customer_events: EventProbe
):
    phone = new_phone()
    messages = [inbound(phone, "Rosa Díaz") for _ in range(20)]
    await asyncio.gather(*(platform.ctx.bus.publish(m) for m in messages))
    owners = {await identified(platform, m) for m in messages}
    assert len(owners) == 1
    customers = platform.db("customers")["customers"]
    digits = phone.lstrip("+")
    assert await customers.count_documents({"search_keys": digits}) == 1
    # One conversation opened for the twenty messages: one contact.
    identities = platform.db("customers")["identities"]

    async def counted() -> dict | None:
        return await identities.find_one({"_id": f"whatsapp:{phone}", "contact_count": 1})

    assert await eventually(counted)
    await asyncio.sleep(0.5)  # a count per message would have gone on by now
    identity = await identities.find_one({"_id": f"whatsapp:{phone}"})
    assert identity is not None and identity["contact_count"] == 1


async def test_channel_name_becomes_display_name_and_first_and_last_name(
    platform: Platform, customer_events: EventProbe
):
    customer_id, phone = await new_customer(platform, customer_events, "Juan Carlos Pérez")
    body = (
        await platform.http.get(f"/api/customers/{customer_id}", headers=platform.auth())
    ).json()
    assert body["display_name"] == "Juan Carlos Pérez"
    assert (body["first_name"], body["last_name"]) == ("Juan Carlos", "Pérez")
    assert body["mobile_phone"] == phone
    assert [i["key"] for i in body["identities"]] == [f"whatsapp:{phone}"]


async def test_a_new_customer_is_not_announced_and_routing_names_it_the_same_way(
    platform: Platform, customer_events: EventProbe
):
    """Every service derives a first contact's customer id: no fan-out per new customer."""
    message = inbound(new_phone(), "Lucía Gómez", email="lucia@example.com")
    customer_id = await identify(platform, customer_events, message)
    assert customer_id == first_customer_id(message.identity.key)
    await customer_events.drain(platform)
    assert [e for e in customer_events.events if e.get("cause_event_id") == message.event_id] == []


async def test_a_profile_the_channel_changed_is_announced_with_snapshot_identity_and_cause(
    platform: Platform, customer_events: EventProbe
):
    phone = new_phone()
    customer_id = await identify(platform, customer_events, inbound(phone, "Lucía Gómez"))
    message = inbound(phone, "Lucía Gómez", email="lucia@example.com")
    await identify(platform, customer_events, message)
    await customer_events.drain(platform)
    event = next(e for e in customer_events.events if e.get("cause_event_id") == message.event_id)
    assert event["action"] == "identified"
    assert event["event_id"] == f"customer.identified:{message.event_id}"
    assert event["identity"] == {"channel": "whatsapp", "external_id": message.identity.external_id}
    assert event["customer"]["customer_id"] == customer_id
    assert event["customer"]["email"] == "lucia@example.com"
    assert event["identity"] in event["customer"]["identities"]
    assert event["customer"]["blocked_identities"] == []


async def test_staff_edited_names_are_never_overwritten_by_the_channel(
    platform: Platform, customer_events: EventProbe
):
    customer_id, phone = await new_customer(platform, customer_events, "Pepe")
    edit = {"first_name": "José", "last_name": "García"}
    r = await platform.http.patch(
        f"/api/customers/{customer_id}", json=edit, headers=platform.auth()
    )
    assert r.status_code == 200
    await identify(platform, customer_events, inbound(phone, "Pepito Grillo"))
    body = (
        await platform.http.get(f"/api/customers/{customer_id}", headers=platform.auth())
    ).json()
    assert (body["first_name"], body["last_name"]) == ("José", "García")
    assert body["display_name"] == "Pepito Grillo"


async def test_a_redelivered_inbound_message_publishes_identified_only_once(
    platform: Platform, customer_events: EventProbe
):
    db = platform.db("customers")
    store = CustomerStore(db)
    handlers = CustomerHandlers(
        store, EmbeddedOutbox(store.customers, platform.ctx.bus, {"CustomerEvent": CustomerEvent})
    )
    phone = new_phone()
    first = await handlers.identify(inbound(phone, "Ana"))
    message = inbound(phone, "Ana Redelivery")  # the channel renamed her: news
    assert await handlers.identify(message) == first
    assert await handlers.identify(message) == first
    await customer_events.drain(platform)
    caused = [e for e in customer_events.events if e.get("cause_event_id") == message.event_id]
    assert len(caused) == 1
    # No conversation was opened (routing never saw these): no contact counted per message.
    identity = await db["identities"].find_one({"_id": message.identity.key})
    assert identity is not None and identity["contact_count"] == 0


async def test_ivr_calls_identify_the_caller_and_delivery_receipts_are_ignored(
    platform: Platform, customer_events: EventProbe
):
    caller = new_phone()
    receipt = DeliveryStatus(
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id=caller),
        external_message_id="wamid.x",
        status="read",
    )
    await platform.ctx.bus.publish(receipt)
    call = CallEvent(
        event_id=f"CA{uuid.uuid4().hex}:incoming",
        identity=Identity(channel="ivr", external_id=caller),
        call_sid=f"CA{uuid.uuid4().hex}",
        step="incoming",
        city="Córdoba",
    )
    await platform.ctx.bus.publish(call)

    async def caller_identified() -> dict | None:
        return await platform.db("customers")["identities"].find_one({"_id": f"ivr:{caller}"})

    identity = await eventually(caller_identified)
    assert identity["customer_id"] == first_customer_id(f"ivr:{caller}")
    await customer_events.drain(platform)
    assert not [e for e in customer_events.events if e.get("cause_event_id") == receipt.event_id]
    assert (
        await platform.db("customers")["identities"].find_one({"_id": f"whatsapp:{caller}"}) is None
    )


async def test_a_blocked_identity_is_still_attributed_and_the_block_is_in_the_snapshot(
    platform: Platform, customer_events: EventProbe
):
    customer_id, phone = await new_customer(platform, customer_events, "Bloqueado")
    key = f"whatsapp:{phone}"
    r = await platform.http.post(
        f"/api/customers/{customer_id}/identities/{key}/block",
        json={"note": "spam"},
        headers=platform.auth(),
    )
    assert r.status_code == 200
    assert r.json()["identities"][0]["blocked"] is True
    blocked = await customer_events.wait_for(customer_id, "identity_blocked")
    assert blocked[0]["customer"]["blocked_identities"] == [key]
    # A known identity is not announced again. Its one contact is the conversation its
    # first message opened; a blocked identity's message opens none.
    await platform.ctx.bus.publish(inbound(phone, "Bloqueado"))

    async def counted_once() -> dict | None:
        body = (
            await platform.http.get(f"/api/customers/{customer_id}", headers=platform.auth())
        ).json()
        identity = next(i for i in body["identities"] if i["key"] == key)
        return identity if identity["contact_count"] == 1 else None

    identity = await eventually(counted_once)
    assert identity["blocked"] is True
    r = await platform.http.post(
        f"/api/customers/{customer_id}/identities/{key}/unblock", headers=platform.auth()
    )
    assert r.status_code == 200 and r.json()["identities"][0]["blocked"] is False
    await customer_events.wait_for(customer_id, "identity_unblocked")


async def test_blocking_an_identity_of_another_customer_is_404(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    _, other_phone = await new_customer(platform, customer_events)
    r = await platform.http.post(
        f"/api/customers/{customer_id}/identities/whatsapp:{other_phone}/block",
        headers=platform.auth(),
    )
    assert r.status_code == 404
