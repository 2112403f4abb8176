"""Replicas are safe by default (issue 24): routing's unpartitioned inbound queue has a single
active consumer, so a second replica started with default settings is a hot standby; and a
process whose ROUTING_PARTITIONS disagrees with the processes already running refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from shared.bus import Bus, PartitioningMismatch, make_broker
from shared.config import Settings


@pytest.fixture
async def own_namespace(settings: Settings) -> AsyncIterator[Settings]:
    ns = f"r{uuid.uuid4().hex[:10]}"
    mine = settings.model_copy(update={"bus_namespace": ns})
    yield mine
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for name in [
            *Bus(mine, make_broker(mine)).all_queue_names(),
            *(f"{ns}.routing.inbound.p{p}" for p in range(5)),
        ]:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                await channel.queue_delete(name)


async def _declared(settings: Settings) -> Bus:
    broker = make_broker(settings)
    await broker.connect()
    bus = Bus(settings, broker)
    try:
        await bus.declare_topology()
    except BaseException:
        await bus.close()
        await broker.stop()
        raise
    return bus


async def _stop(bus: Bus) -> None:
    await bus.close()
    await bus.broker.stop()


async def test_two_default_replicas_do_not_share_the_inbound_queue(own_namespace: Settings):
    bus = await _declared(own_namespace)
    queue_name = bus.queue_name("routing", "inbound")
    received: dict[str, int] = {"first": 0, "second": 0}
    connection = await aio_pika.connect(own_namespace.amqp_url)
    try:
        async with connection:
            for replica in ("first", "second"):
                channel = await connection.channel()
                queue = await channel.get_queue(queue_name, ensure=False)

                async def on_message(message: aio_pika.abc.AbstractIncomingMessage, who=replica):
                    received[who] += 1
                    await message.ack()

                await queue.consume(on_message)
            publisher = await connection.channel()
            for n in range(20):
                await publisher.default_exchange.publish(
                    aio_pika.Message(f"{n}".encode()), routing_key=queue_name
                )
            for _ in range(100):
                if sum(received.values()) == 20:
                    break
                await asyncio.sleep(0.05)
    finally:
        await _stop(bus)
    assert received == {"first": 20, "second": 0}


@pytest.mark.parametrize(("running", "starting"), [(1, 4), (4, 1), (4, 2), (2, 4)])
async def test_a_process_with_other_partition_settings_refuses_to_start(
    own_namespace: Settings, running: int, starting: int
):
    first = await _declared(own_namespace.model_copy(update={"routing_partitions": running}))
    try:
        with pytest.raises(PartitioningMismatch, match="ROUTING_PARTITIONS"):
            await _declared(own_namespace.model_copy(update={"routing_partitions": starting}))
        # The same settings start beside it.
        await _stop(
            await _declared(own_namespace.model_copy(update={"routing_partitions": running}))
        )
    finally:
        await _stop(first)
