"""A channel without credentials keeps its replies queued; the send rate holds across
replicas (two rate keepers over the same database, as two processes would be)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import aio_pika

from services.ingest.delivery_store import DeliveryStore
from services.ingest.outbound.ratelimit import SendRate
from tests.integration.delivery.helpers import reply
from tests.support import Platform, eventually


async def test_without_a_token_replies_stay_queued_unconsumed(platform: Platform) -> None:
    """The session platform has no WHATSAPP_ACCESS_TOKEN: nothing consumes the queue."""
    message = reply("Bienvenido a ToWebs, ¿en qué podemos ayudarte?")
    await platform.ctx.bus.publish(message)
    queue_name = f"{platform.settings.bus_namespace}.connector.whatsapp"

    connection = await aio_pika.connect(platform.settings.amqp_url)
    async with connection:
        channel = await connection.channel()

        async def waiting() -> int:
            queue = await channel.declare_queue(queue_name, passive=True)
            return int(queue.declaration_result.message_count or 0)

        assert await eventually(waiting) >= 1
        await asyncio.sleep(0.5)
        assert await waiting() >= 1  # still there: not consumed, not dropped
        consumers = (await channel.declare_queue(queue_name, passive=True)).declaration_result
        assert consumers.consumer_count == 0
    record = await platform.db("ingest")["deliveries"].find_one({"_id": message.event_id})
    assert record is None


async def test_two_replicas_together_never_exceed_the_rate_of_one_sender(
    sending: Platform,
) -> None:
    db = sending.db("ingest")
    replicas = [SendRate(DeliveryStore(db)), SendRate(DeliveryStore(db))]
    sender = f"whatsapp:test-{uuid.uuid4().hex[:8]}"
    per_second = 4
    moments: list[float] = []

    async def send_many(rate: SendRate, n: int) -> None:
        for _ in range(n):
            await rate.acquire(sender, per_second)
            moments.append(time.time())

    started = time.time()
    await asyncio.gather(send_many(replicas[0], 6), send_many(replicas[1], 6))

    per_window = Counter(int(moment) for moment in moments)
    assert max(per_window.values()) <= per_second, per_window
    assert len(per_window) >= 3  # 12 sends at 4/s need at least three one-second windows
    assert time.time() - started >= 1.0
