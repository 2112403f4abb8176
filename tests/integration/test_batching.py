"""Micro-batched consumers on the real broker: batch boundaries, one ack per batch, a poison
message dead-lettered alone, and a shutdown that drains what was delivered."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from shared.batching import BatchConsumer, Delivery, GroupCommit, Undecodable
from shared.config import Settings
from tests.support import eventually


class Queues:
    """A quorum queue with a delivery limit and a dead-letter queue, like the platform's."""

    def __init__(self, connection: aio_pika.abc.AbstractRobustConnection, name: str) -> None:
        self.connection = connection
        self.name = name
        self.dlq = f"{name}.dlq"

    async def declare(self) -> None:
        channel = await self.connection.channel()
        dlx = await channel.declare_exchange(f"{self.name}.dlx", aio_pika.ExchangeType.FANOUT)
        dlq = await channel.declare_queue(
            self.dlq, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx)
        await channel.declare_queue(
            self.name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": 2,
                "x-dead-letter-exchange": f"{self.name}.dlx",
            },
        )
        await channel.close()

    async def publish(self, bodies: list[bytes]) -> None:
        channel = await self.connection.channel(publisher_confirms=True)
        await asyncio.gather(
            *(
                channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=self.name,
                )
                for body in bodies
            )
        )
        await channel.close()

    async def count(self, name: str) -> int:
        channel = await self.connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        count = queue.declaration_result.message_count or 0
        await channel.close()
        return count

    async def delete(self) -> None:
        channel = await self.connection.channel()
        for name in (self.name, self.dlq):
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{self.name}.dlx")


@pytest.fixture
async def queues(settings: Settings) -> AsyncIterator[Queues]:
    connection = await aio_pika.connect_robust(settings.amqp_url)
    q = Queues(connection, f"{settings.bus_namespace}.batching.{uuid.uuid4().hex[:8]}")
    await q.declare()
    yield q
    await q.delete()
    await connection.close()


def numbered(n: int) -> list[bytes]:
    return [json.dumps({"n": i}).encode() for i in range(n)]


async def test_a_full_batch_goes_at_once_in_delivery_order_and_is_acked(queues: Queues):
    seen: list[list[int]] = []

    async def handle(batch: list[Delivery]) -> None:
        seen.append([d.body["n"] for d in batch])

    consumer = BatchConsumer("t", queues.name, handle, max_batch=10, max_wait=30.0, prefetch=40)
    await queues.publish(numbered(30))
    await consumer.start(queues.connection)
    try:
        # The window is 30 s: only full batches could have gone this fast.
        await eventually(lambda: _true(sum(map(len, seen)) == 30), timeout=10)
    finally:
        await consumer.stop()
    assert all(len(batch) == 10 for batch in seen)
    assert [n for batch in seen for n in batch] == list(range(30))
    assert await queues.count(queues.name) == 0  # acked, nothing comes back


async def test_a_partial_batch_goes_when_its_oldest_message_waited_max_wait(queues: Queues):
    sizes: list[int] = []
    waited: list[float] = []

    async def handle(batch: list[Delivery]) -> None:
        sizes.append(len(batch))
        waited.append(time.monotonic() - batch[0].arrived)

    consumer = BatchConsumer("t", queues.name, handle, max_batch=50, max_wait=0.3, prefetch=50)
    await consumer.start(queues.connection)
    try:
        await queues.publish(numbered(3))
        await eventually(lambda: _true(sum(sizes) == 3), timeout=10)
    finally:
        await consumer.stop()
    assert sizes == [3]
    assert waited[0] >= 0.3


async def test_a_poison_message_is_dead_lettered_alone_and_the_rest_of_its_batch_commits(
    queues: Queues,
):
    committed: list[int] = []

    async def handle(batch: list[Delivery]) -> None:
        if any(d.body["n"] == 4 for d in batch):
            raise RuntimeError("poison")
        committed.extend(d.body["n"] for d in batch)

    consumer = BatchConsumer("t", queues.name, handle, max_batch=10, max_wait=0.05, prefetch=20)
    await queues.publish([*numbered(10), b"not json"])
    await consumer.start(queues.connection)
    try:
        await eventually(lambda: _true(len(committed) == 9), timeout=20)

        async def dead_lettered() -> bool:
            return await queues.count(queues.dlq) == 2  # the poison one and the non-JSON one

        await eventually(dead_lettered, timeout=20)
    finally:
        await consumer.stop()
    assert sorted(committed) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert await queues.count(queues.name) == 0


async def test_an_undecodable_message_is_rejected_without_retries(queues: Queues):
    calls: list[int] = []

    async def handle(batch: list[Delivery]) -> None:
        calls.append(len(batch))
        if any(d.body.get("bad") for d in batch):
            raise Undecodable("no contract fits")

    consumer = BatchConsumer("t", queues.name, handle, max_batch=5, max_wait=0.05, prefetch=10)
    await queues.publish([json.dumps({"bad": True}).encode()])
    await consumer.start(queues.connection)
    try:

        async def dead_lettered() -> bool:
            return await queues.count(queues.dlq) == 1

        await eventually(dead_lettered, timeout=20)
    finally:
        await consumer.stop()
    assert len(calls) == 2  # the batch, then the message alone: no redelivery


async def test_stop_drains_what_was_delivered_before_closing(queues: Queues):
    handled: list[int] = []
    started = asyncio.Event()

    async def handle(batch: list[Delivery]) -> None:
        started.set()
        await asyncio.sleep(0.2)
        handled.extend(d.body["n"] for d in batch)

    consumer = BatchConsumer("t", queues.name, handle, max_batch=5, max_wait=0.01, prefetch=20)
    await queues.publish(numbered(20))
    await consumer.start(queues.connection)
    await started.wait()

    async def all_delivered() -> bool:  # none ready: the consumer holds all 20
        return await queues.count(queues.name) == 0

    await eventually(all_delivered, timeout=10)
    await consumer.stop()
    # Everything the broker had delivered was handled, batch after batch, before closing:
    # without the drain the 15 still buffered would go back to the queue unhandled.
    assert handled == list(range(20))
    assert await queues.count(queues.name) == 0


async def test_group_commit_coalesces_concurrent_items_without_delaying_a_lone_one():
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.05)
        return [i * 2 for i in items]

    group: GroupCommit[int, int] = GroupCommit(flush)
    assert await group.submit(1) == 2
    results = await asyncio.gather(*(group.submit(i) for i in range(10)))
    assert results == [i * 2 for i in range(10)]
    assert batches[0] == [1]
    assert len(batches) <= 3  # the first of the ten alone, then the rest together


async def _true(value: bool) -> bool:
    return value
