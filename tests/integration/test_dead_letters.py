"""A message tickets or exports can never handle is dead-lettered to that service's queue
after the delivery limit, and the traffic behind it still flows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.integration.tickets.helpers import conversation_event, unique
from tests.support import Platform, eventually


@pytest.fixture
async def tickets_and_exports(settings: Settings) -> AsyncIterator[Platform]:
    """Tickets and exports alone, in a namespace of their own: their dead-letter queues hold
    only what this test sends."""
    ns = f"d{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_", "delivery_limit": 2}
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


async def test_poison_is_dead_lettered_by_tickets_and_exports_while_traffic_flows(
    tickets_and_exports: Platform,
):
    plat = tickets_and_exports
    bus = plat.ctx.bus
    poison_id = f"poison-{uuid.uuid4().hex}"
    await bus.broker.publish(
        b'{"action": "opened", "conversation": {"this is": "not a snapshot"',
        exchange=bus.exchange,
        routing_key="conversation.opened",
        persist=True,
        message_id=poison_id,
    )
    conversation_id = unique("conv")
    await bus.publish(conversation_event(conversation_id, 1, customer_name="Tráfico Normal"))

    async def both_dead_lettered() -> bool:
        tickets = await _dead_letters(plat.settings, "tickets")
        exports = await _dead_letters(plat.settings, "exports")
        return len(tickets) >= 1 and len(exports) >= 1

    await eventually(both_dead_lettered, timeout=60, interval=0.5)
    for service in ("tickets", "exports"):
        [dead] = await _dead_letters(plat.settings, service)
        assert dead.message_id == poison_id, service

    projection = plat.db("tickets")["conversations"]
    doc = await eventually(lambda: projection.find_one({"_id": conversation_id}))
    assert doc["customer_name"] == "Tráfico Normal"
