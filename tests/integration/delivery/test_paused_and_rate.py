"""A channel without credentials keeps its replies queued; the send rate holds across
replicas (two pacers over the same database, as two processes would be)."""

from __future__ import annotations

import asyncio
import time
import uuid

import aio_pika

from services.ingest.delivery_store import DeliveryStore
from services.ingest.outbound.delivery import Delivery
from services.ingest.outbound.pacing import Limit
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
    """Two pacers over one database, as two ingest processes would be: one schedule."""
    db = sending.db("ingest")
    replicas = [Delivery(sending.settings, sending.ctx.bus, DeliveryStore(db), {}) for _ in "ab"]
    limit = Limit.per_second(f"whatsapp:test-{uuid.uuid4().hex[:8]}", 2)
    moments: list[float] = []

    async def send_many(delivery: Delivery, n: int) -> None:
        for _ in range(n):
            assert (await delivery.pacer.take(limit, max_wait=60.0)).reserved
            moments.append(time.monotonic())

    await asyncio.gather(send_many(replicas[0], 4), send_many(replicas[1], 4))

    # Any one-second window (a sliding one, not only whole seconds): at most 2, plus one for
    # a sleep that overslept its slot and let the next one follow closely.
    moments.sort()
    assert max(sum(s <= m < s + 1.0 for m in moments) for s in moments) <= 3, moments
    assert moments[-1] - moments[0] >= 2.5  # 8 sends at 2/s span about 3.5 s
