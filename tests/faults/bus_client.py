"""A bare bus connection for fault tests: publish contract events, inspect queue depths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.bus import Bus, make_broker
from shared.config import Settings
from tests.brokers import RabbitNode
from tests.queues import settled


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


async def queue_depths(settings: Settings, node: RabbitNode) -> dict[str, int]:
    """Messages in each of the namespace's queues, ready plus delivered-but-unacknowledged,
    by name without the namespace.

    A queue whose consumers hold its messages (prefetch) shows none ready while work is still
    in flight; only both counts at zero mean nothing is left to do.
    """
    prefix = f"{settings.bus_namespace}."
    counts = await asyncio.to_thread(node.queue_counts, prefix)
    bus_names = Bus(settings, make_broker(settings)).all_queue_names()
    return {name.removeprefix(prefix): sum(counts.get(name, (0, 0))) for name in bus_names}


async def drained(settings: Settings, node: RabbitNode) -> bool:
    """Every platform queue of the namespace is empty and has nothing unacknowledged
    (connector queues have no consumer in these tests)."""
    return await settled(settings, node=node)
