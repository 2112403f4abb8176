"""Versioned contracts on the real broker: during a rolling deploy a consumer handles events
of the previous version (written before `schema_version` existed: no field) and of the
current one, and dead-letters at once an event of a version it does not know, counting it,
instead of misreading it.

Both decoding paths are covered: the micro-batched consumers (`tickets.conversation`,
`exports.conversation`: shared/batching.py) and FastStream's subscribers
(`exports.customer`: shared/bus.py's middleware).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY

from shared.config import Settings
from shared.contracts import CustomerEvent, CustomerSnapshot
from shared.contracts.base import SCHEMA_VERSION
from tests.conftest import _delete_namespace
from tests.integration.tickets.helpers import conversation_event, unique
from tests.support import Platform, eventually

FUTURE = SCHEMA_VERSION + 1


@pytest.fixture
async def tickets_and_exports(settings: Settings) -> AsyncIterator[Platform]:
    """Tickets and exports alone, in a namespace of their own (their dead-letter queues hold
    only what this test sends), with a delivery limit no test reaches by redeliveries: a
    dead-lettered message here was rejected at once."""
    ns = f"v{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_", "delivery_limit": 50}
    )
    plat = Platform(own, names=("tickets", "exports"))
    await plat.start()
    try:
        yield plat
    finally:
        await plat.stop()
        await _delete_namespace(own)


async def _dead_letters(
    settings: Settings, service: str
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message in `<service>.dlq`, left there (nacked back)."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{settings.bus_namespace}.{service}.dlq", passive=True)
        messages = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            messages.append(message)
        for message in messages:
            await message.nack(requeue=True)
        return messages


async def _publish_raw(
    plat: Platform, body: dict[str, Any], routing_key: str, message_id: str
) -> None:
    """A body exactly as another producer's version would write it."""
    bus = plat.ctx.bus
    await bus.broker.publish(
        json.dumps(body).encode(),
        exchange=bus.exchange,
        routing_key=routing_key,
        persist=True,
        message_id=message_id,
        content_type="application/json",
    )


def _death_reason(message: aio_pika.abc.AbstractIncomingMessage) -> str:
    """Why the broker dead-lettered `message`: `rejected` at its first delivery, rather than
    `delivery_limit` after redeliveries."""
    [death] = message.headers["x-death"]  # type: ignore[misc]
    reason = death["reason"]  # type: ignore[index,call-overload]
    return reason.decode() if isinstance(reason, bytes) else str(reason)


def _refused(family: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "cc_unsupported_schema_version_total", {"family": family, "version": str(FUTURE)}
        )
        or 0.0
    )


async def test_batched_consumers_handle_previous_and_current_events_and_dead_letter_a_future_one(
    tickets_and_exports: Platform,
) -> None:
    plat = tickets_and_exports
    refused_before = _refused("conversation")

    previous = conversation_event(unique("conv"), 1, customer_name="Versión Anterior")
    old_body = previous.model_dump(mode="json")
    del old_body["schema_version"]  # what a producer of version 1 wrote
    await _publish_raw(plat, old_body, "conversation.opened", previous.event_id)

    current = conversation_event(unique("conv"), 1, customer_name="Versión Actual")
    assert current.model_dump()["schema_version"] == SCHEMA_VERSION
    await plat.ctx.bus.publish(current)

    future = conversation_event(unique("conv"), 1, customer_name="Versión Futura")
    new_body = {**future.model_dump(mode="json"), "schema_version": FUTURE}
    await _publish_raw(plat, new_body, "conversation.opened", future.event_id)

    projection = plat.db("tickets")["conversations"]
    for event, name in ((previous, "Versión Anterior"), (current, "Versión Actual")):
        doc = await eventually(
            lambda e=event: projection.find_one({"_id": e.conversation.conversation_id})
        )
        assert doc["customer_name"] == name

    async def dead_lettered_by_both() -> bool:
        return all([await _dead_letters(plat.settings, s) for s in ("tickets", "exports")])

    await eventually(dead_lettered_by_both, timeout=30, interval=0.3)
    for service in ("tickets", "exports"):
        [dead] = await _dead_letters(plat.settings, service)
        assert dead.message_id == future.event_id, service
        assert json.loads(dead.body)["schema_version"] == FUTURE
        assert _death_reason(dead) == "rejected", service
    assert await projection.find_one({"_id": future.conversation.conversation_id}) is None
    assert _refused("conversation") - refused_before == 2  # once per consuming service


async def test_a_subscriber_handles_previous_and_current_events_and_dead_letters_a_future_one(
    tickets_and_exports: Platform,
) -> None:
    plat = tickets_and_exports
    refused_before = _refused("customer")

    def event(name: str) -> CustomerEvent:
        return CustomerEvent(
            action="updated",
            customer=CustomerSnapshot(customer_id=unique("cu"), first_name=name, version=1),
            actor="staff:ana",
        )

    previous, current, future = event("Anterior"), event("Actual"), event("Futura")
    old_body = previous.model_dump(mode="json")
    del old_body["schema_version"]
    await _publish_raw(plat, old_body, "customer.updated", previous.event_id)
    await plat.ctx.bus.publish(current)
    new_body = {**future.model_dump(mode="json"), "schema_version": FUTURE}
    await _publish_raw(plat, new_body, "customer.updated", future.event_id)

    customers = plat.db("exports")["customers"]
    for handled, name in ((previous, "Anterior"), (current, "Actual")):
        doc = await eventually(
            lambda e=handled: customers.find_one({"_id": e.customer.customer_id})
        )
        assert doc["name"] == name

    async def dead_lettered() -> list[aio_pika.abc.AbstractIncomingMessage]:
        return await _dead_letters(plat.settings, "exports")

    [dead] = await eventually(dead_lettered, timeout=30, interval=0.3)
    assert dead.message_id == future.event_id
    assert _death_reason(dead) == "rejected"
    assert await customers.find_one({"_id": future.customer.customer_id}) is None
    assert _refused("customer") - refused_before == 1
