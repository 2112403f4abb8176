"""A channel without credentials keeps its replies queued; the send rate holds across
replicas (two pacers over the same database, as two processes would be)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import aio_pika

from services.ingest.delivery_store import DeliveryStore
from services.ingest.outbound.delivery import Delivery
from services.ingest.outbound.pacing import Limit, slot_after
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
    slots: list[float] = []
    started = time.monotonic()

    async def send_many(delivery: Delivery, n: int) -> None:
        for _ in range(n):
            now = time.time()
            tat, reserved = await delivery.pacer.reserve(limit, now, 60.0)
            slot = slot_after(tat, reserved, now, limit)  # what `take` then sleeps for
            assert slot.reserved
            slots.append(now + slot.wait)
            await asyncio.sleep(slot.wait)

    await asyncio.gather(send_many(replicas[0], 4), send_many(replicas[1], 4))

    # One schedule: every slot half a second after the one before, whichever replica took
    # it (two schedules would give pairs of slots at the same moment), so no one-second
    # window, sliding or not, holds more than 2.
    slots.sort()
    assert all(b - a >= 0.5 - 1e-6 for a, b in itertools.pairwise(slots)), slots
    assert time.monotonic() - started >= 3.0  # 8 sends at 2/s: the last one 3.5 s later
