"""The raw pipeline the platform is compared with: aio-pika publish → quorum queue → Mongo upsert.

Same broker settings as the platform's bus: persistent messages, publisher confirms, a
durable quorum queue, manual acks after the write, the same prefetch; the consumer does one
`update_one(upsert=True)` per message, as an idempotent consumer would. No HTTP, no pydantic,
no FastStream: the ceiling that broker + database allow on this machine.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

from bench.load import percentile


@dataclass
class BaselineResult:
    messages: int
    publish_seconds: float = 0.0
    total_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.total_seconds if self.total_seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "throughput_per_s": round(self.rate, 1),
            "publish_rate_per_s": round(self.messages / self.publish_seconds, 1)
            if self.publish_seconds
            else 0.0,
            "latency_p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "latency_p99_ms": round(percentile(self.latencies_ms, 99), 1),
        }


async def run_baseline(
    amqp_url: str,
    mongo_url: str,
    queue_name: str,
    db_name: str,
    messages: int = 5000,
    prefetch: int = 50,
    in_flight: int = 100,
    write: bool = True,
) -> BaselineResult:
    """Publish `messages` with at most `in_flight` unconfirmed, consume and upsert them all.

    With `write=False` the consumer only acks: the broker's own ceiling, without the database.
    """
    result = BaselineResult(messages=messages)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    collection = mongo[db_name]["messages"]
    connection = await aio_pika.connect(amqp_url)
    done = asyncio.Event()
    consumed = 0
    try:
        pub_channel = await connection.channel(publisher_confirms=True)
        queue = await pub_channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        con_channel = await connection.channel()
        await con_channel.set_qos(prefetch_count=prefetch)
        con_queue = await con_channel.get_queue(queue.name, ensure=False)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal consumed
            body = json.loads(message.body)
            if write:
                await collection.update_one(
                    {"_id": body["event_id"]},
                    {"$setOnInsert": {"text": body["text"], "phone": body["phone"]}},
                    upsert=True,
                )
            await message.ack()
            result.latencies_ms.append((time.perf_counter() - body["t"]) * 1000)
            consumed += 1
            if consumed >= messages:
                done.set()

        consumer_tag = await con_queue.consume(on_message)
        semaphore = asyncio.Semaphore(in_flight)
        run = uuid.uuid4().hex[:8]
        started = time.perf_counter()

        async def publish(i: int) -> None:
            async with semaphore:
                body = json.dumps(
                    {
                        "event_id": f"base:{run}:{i}",
                        "text": "Hola, no tengo internet desde ayer",
                        "phone": f"+5491150{i % 500:06d}",
                        "t": time.perf_counter(),
                    }
                ).encode()
                await pub_channel.default_exchange.publish(
                    aio_pika.Message(
                        body,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        content_type="application/json",
                    ),
                    routing_key=queue_name,
                    mandatory=True,
                )

        await asyncio.gather(*(publish(i) for i in range(messages)))
        result.publish_seconds = time.perf_counter() - started
        await asyncio.wait_for(done.wait(), timeout=120)
        result.total_seconds = time.perf_counter() - started
        await con_queue.cancel(consumer_tag)
    finally:
        channel = await connection.channel()
        await channel.queue_delete(queue_name)
        await connection.close()
        await mongo.drop_database(db_name)
        await mongo.close()
    return result


async def run_db_probe(
    mongo_url: str, db_name: str, operations: int = 1000, concurrency: int = 50
) -> dict[str, float]:
    """The database's own ceiling: concurrent single-document upserts per second."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    collection = mongo[db_name]["probe"]
    semaphore = asyncio.Semaphore(concurrency)

    async def upsert(i: int) -> None:
        async with semaphore:
            await collection.update_one(
                {"_id": f"probe:{i}"}, {"$setOnInsert": {"n": i}}, upsert=True
            )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(upsert(i) for i in range(operations)))
        elapsed = time.perf_counter() - started
    finally:
        await mongo.drop_database(db_name)
        await mongo.close()
    return {"operations": operations, "upserts_per_s": round(operations / elapsed, 1)}
