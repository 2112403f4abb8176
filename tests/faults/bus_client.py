"""A bare bus connection for fault tests: publish contract events, inspect queue depths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika

from shared.bus import Bus, make_broker
from shared.config import Settings


@asynccontextmanager
async def connected_bus(settings: Settings) -> AsyncIterator[Bus]:
    broker = make_broker(settings)
    bus = Bus(settings, broker)
    await broker.connect()
    await bus.declare_topology()
    try:
        yield bus
    finally:
        await broker.stop()


async def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages ready in each of the namespace's queues, by name without the namespace."""
    bus_names = Bus(settings, make_broker(settings)).all_queue_names()
    prefix = f"{settings.bus_namespace}."
    depths: dict[str, int] = {}
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in bus_names:
            queue = await channel.declare_queue(name, passive=True)
            depths[name.removeprefix(prefix)] = queue.declaration_result.message_count or 0
    return depths
