"""Is the bus quiet? Ready AND unacknowledged counts of a namespace's queues.

Handlers run concurrently (prefetch > 1): a queue with nothing ready may still have a dozen
messages being handled. A passive `queue_declare` reports only the ready ones, so "settled"
asks the broker for both counts with `rabbitmqctl list_queues` (no management plugin
needed): the shared node by default (TEST_RABBITMQ_NODE names another), or a node a test
owns (tests/brokers.py).

Where rabbitmqctl cannot be run (not root nor the rabbitmq user), the ready counts are all
that is known; `settle` then also waits a grace period, and says so in its docstring only:
tests that must be exact poll the end state they expect instead.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess

import aio_pika

from shared.bus import Bus, make_broker
from shared.config import Settings
from tests.brokers import CTL, RabbitNode, _as_broker_user, scaled
from tests.support import eventually


def _shared_node_counts(prefix: str) -> dict[str, tuple[int, int]] | None:
    node = os.environ.get("TEST_RABBITMQ_NODE")
    argv = [CTL, *(["-n", node] if node else []), "list_queues", "-q", "--no-table-headers"]
    argv += ["name", "messages_ready", "messages_unacknowledged"]
    try:
        result = subprocess.run(
            _as_broker_user(argv), capture_output=True, text=True, timeout=scaled(60), check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    counts: dict[str, tuple[int, int]] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(prefix):
            counts[parts[0]] = (int(parts[1]), int(parts[2]))
    return counts


async def _ready_counts(settings: Settings, names: list[str]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            queue = await channel.declare_queue(name, passive=True)
            counts[name] = (queue.declaration_result.message_count or 0, 0)
    return counts


def platform_queues(settings: Settings, *topics: str) -> list[str]:
    """The namespace's platform queues (`service.topic` names, e.g. `tickets.conversation`);
    all but the connectors' (no consumer in tests) when no topic is given."""
    prefix = f"{settings.bus_namespace}."
    names = Bus(settings, make_broker(settings)).all_queue_names()
    if topics:
        wanted = {f"{prefix}{t}" for t in topics}
        return [n for n in names if n in wanted]
    return [n for n in names if not n.removeprefix(prefix).startswith("connector.")]


async def queue_counts(
    settings: Settings, *topics: str, node: RabbitNode | None = None
) -> tuple[dict[str, tuple[int, int]], bool]:
    """(ready, unacknowledged) per queue, and whether unacknowledged counts are known."""
    names = platform_queues(settings, *topics)
    prefix = f"{settings.bus_namespace}."
    if node is not None:
        counts: dict[str, tuple[int, int]] | None = await asyncio.to_thread(
            node.queue_counts, prefix
        )
    else:
        counts = await asyncio.to_thread(_shared_node_counts, prefix)
    if counts is None:
        return await _ready_counts(settings, names), False
    return {n: counts.get(n, (0, 0)) for n in names}, True


async def settled(settings: Settings, *topics: str, node: RabbitNode | None = None) -> bool:
    """Nothing ready and nothing unacknowledged in the queues.

    The ready counts come cheaply over AMQP first; rabbitmqctl (an Erlang VM started per
    call) is asked for the unacknowledged ones only when nothing is ready any more."""
    ready = await _ready_counts(settings, platform_queues(settings, *topics))
    if any(n for n, _ in ready.values()):
        return False
    counts, _ = await queue_counts(settings, *topics, node=node)
    return all(ready == 0 and unacked == 0 for ready, unacked in counts.values())


async def settle(
    settings: Settings, *topics: str, node: RabbitNode | None = None, timeout: float = 30.0
) -> None:
    """Wait until the queues (all platform queues, or `topics`) have nothing ready and
    nothing unacknowledged: every message published to them before the call is handled."""
    probe = functools.partial(settled, settings, *topics, node=node)
    await eventually(probe, timeout=scaled(timeout), interval=0.2)
    _, exact = await queue_counts(settings, *topics, node=node)
    if not exact:
        await asyncio.sleep(scaled(1.0))
