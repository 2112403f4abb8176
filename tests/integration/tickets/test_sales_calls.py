from shared.contracts.conversation import CallInfo
from tests.integration.tickets.helpers import conversation_event, unique
from tests.queues import settle
from tests.support import Platform, eventually


def _call(call_sid: str, **fields) -> CallInfo:
    base = {"motive": "ventas", "city": "Córdoba", "caller_number": "+5493515550000"}
    return CallInfo(call_sid=call_sid, **{**base, **fields})


async def _sales_call_with(platform: Platform, call_sid: str, **expected):
    collection = platform.db("tickets")["sales_calls"]

    async def probe():
        doc = await collection.find_one({"_id": call_sid})
        if doc and all(doc.get(k) == v for k, v in expected.items()):
            return doc
        return None

    return await eventually(probe)


async def _sales_call_events(platform: Platform, call_sid: str) -> list[dict]:
    outbox = platform.db("tickets")["outbox"]
    cursor = outbox.find({"routing_key": "ticket.sales_call", "body.sales_call.call_sid": call_sid})
    return [doc async for doc in cursor]


async def test_ivr_purchase_call_is_recorded_once_as_a_sales_call(platform: Platform):
    call_sid, conversation_id = unique("CA"), unique("conv")
    event = conversation_event(
        conversation_id,
        2,
        action="call_updated",
        channel="ivr",
        call=_call(call_sid, call_status="in-progress"),
    )
    await platform.ctx.bus.publish(event)
    await platform.ctx.bus.publish(event)  # a redelivery changes nothing

    doc = await _sales_call_with(platform, call_sid, call_status="in-progress")
    assert doc["conversation_id"] == conversation_id
    assert doc["customer_name"] == "María Núñez"
    assert doc["city"] == "Córdoba"

    async def published():
        events = await _sales_call_events(platform, call_sid)
        return events if events and all(e["published"] for e in events) else None

    events = await eventually(published)
    assert [e["_id"] for e in events] == [f"sales_call:{call_sid}"]


async def test_later_call_events_update_the_sales_call_with_a_new_event(platform: Platform):
    call_sid, conversation_id = unique("CA"), unique("conv")
    bus = platform.ctx.bus
    await bus.publish(
        conversation_event(
            conversation_id,
            2,
            action="call_updated",
            channel="ivr",
            call=_call(call_sid, call_status="in-progress"),
        )
    )
    await _sales_call_with(platform, call_sid, call_status="in-progress")

    await bus.publish(
        conversation_event(
            conversation_id,
            4,
            action="call_updated",
            channel="ivr",
            call=_call(call_sid, call_status="completed"),
        )
    )
    doc = await _sales_call_with(platform, call_sid, call_status="completed")
    assert doc["revision"] == 2

    # An older snapshot arriving late never brings the status back.
    await bus.publish(
        conversation_event(
            conversation_id,
            3,
            action="call_updated",
            channel="ivr",
            call=_call(call_sid, call_status="ringing"),
        )
    )
    # A newer snapshot that changes nothing does not publish again. (Chat traffic such as
    # `seen` is not even delivered to tickets: its queue binds only what it reads.)
    await bus.publish(
        conversation_event(
            conversation_id,
            5,
            action="status_changed",
            channel="ivr",
            call=_call(call_sid, call_status="completed"),
        )
    )
    projection = platform.db("tickets")["conversations"]

    async def caught_up():
        return await projection.find_one({"_id": conversation_id, "version": 5})

    await eventually(caught_up)
    doc = await _sales_call_with(platform, call_sid)
    assert doc["call_status"] == "completed"
    ids = sorted(e["_id"] for e in await _sales_call_events(platform, call_sid))
    assert ids == [f"sales_call:{call_sid}", f"sales_call:{call_sid}:2"]


async def test_calls_with_another_motive_are_not_sales_calls(platform: Platform):
    call_sid, conversation_id = unique("CA"), unique("conv")
    await platform.ctx.bus.publish(
        conversation_event(
            conversation_id,
            1,
            action="call_updated",
            channel="ivr",
            call=_call(call_sid, motive="soporte técnico"),
        )
    )
    projection = platform.db("tickets")["conversations"]

    async def projected():
        return await projection.find_one({"_id": conversation_id})

    await eventually(projected)
    assert await platform.db("tickets")["sales_calls"].find_one({"_id": call_sid}) is None


async def test_projection_ignores_older_conversation_snapshots(platform: Platform):
    conversation_id = unique("conv")
    bus = platform.ctx.bus
    await bus.publish(conversation_event(conversation_id, 3, customer_name="Nuevo Nombre"))
    projection = platform.db("tickets")["conversations"]

    async def at(version):
        return await projection.find_one({"_id": conversation_id, "version": version})

    await eventually(lambda: at(3))
    await bus.publish(conversation_event(conversation_id, 2, customer_name="Viejo Nombre"))
    # The older snapshot has been handled (acknowledged) once the queue is settled.
    await settle(platform.settings, "tickets.conversation")
    doc = await projection.find_one({"_id": conversation_id})
    assert (doc["version"], doc["customer_name"]) == (3, "Nuevo Nombre")

    await bus.publish(conversation_event(conversation_id, 4, customer_name="Otro Nombre"))
    doc = await eventually(lambda: at(4))
    assert doc["customer_name"] == "Otro Nombre"
