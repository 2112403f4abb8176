"""The broker side of the metrics: how many messages wait in each queue and each dead-letter queue.

A consumer's own metrics cannot show what it has not received yet, so a process also polls
RabbitMQ: every few seconds it passively declares its queues (a passive declare never creates
or changes a queue; it answers the ready-message count) and sets two gauges:

- `cc_queue_messages{queue}`: ready messages in a queue, e.g. `queue="routing.inbound"`;
- `cc_dead_lettered_messages{service}`: messages in `<service>.dlq`, i.e. messages that failed
  `delivery_limit` times and wait for an operator.

Label values are queue names WITHOUT the deployment namespace prefix: a namespace is an id of
one deployment or test session, and ids never go into label values (unbounded cardinality).

Replicas: every replica of a service would report the same queue, and a sum across
instances would count it twice; only the replica with REPLICA_INDEX 0 polls (the elected
reporter, see README "Running replicas"), the others report nothing.

Wiring, in the process lifespan (`contactcenter/platform.py`)::

    monitor = await ops_metrics.start(ctx, names)   # after broker.connect()
    ...
    await monitor.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from prometheus_client import Counter, Gauge

from shared.bus import PARTITIONED, SERVICES_WITH_DLQ, SUBSCRIPTIONS, amqp_urls
from shared.config import Settings
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.service import ServiceContext

log = get_logger("ops_metrics")

QUEUE_MESSAGES = Gauge(
    "cc_queue_messages",
    "Ready messages waiting in a RabbitMQ queue (name without namespace), polled",
    ["queue"],
)
DEAD_LETTERED_MESSAGES = Gauge(
    "cc_dead_lettered_messages",
    "Messages waiting in a service's dead-letter queue <service>.dlq, polled",
    ["service"],
)
QUEUE_POLL_FAILURES = Counter(
    "cc_queue_poll_failures",
    "Broker polls that failed (broker unreachable or a queue missing)",
)

# Replies for the channels are published by routing; a process running routing watches them.
_CONNECTOR_OWNER = "routing"


@dataclass(frozen=True)
class WatchedQueue:
    """One queue to poll: its name as a label and, for a dead-letter queue, its service."""

    label: str
    dlq_of: str | None = None


def watched_queues(
    services: Iterable[str] | None = None, partitions: int = 1
) -> list[WatchedQueue]:
    """The queues a process watches: those of the services it runs (all of them for None).

    With one process per service each queue is reported by exactly one process, so sums
    across instances stay right; the connector queues go with routing, which fills them.
    """
    wanted = set(services) if services is not None else None

    def included(service: str) -> bool:
        if wanted is None:
            return True
        if service == "connector":
            return _CONNECTOR_OWNER in wanted
        return service in wanted

    queues = [
        WatchedQueue(f"{s.service}.{s.topic}")
        for s in SUBSCRIPTIONS
        if included(s.service) and (partitions == 1 or (s.service, s.topic) != PARTITIONED)
    ]
    if partitions > 1 and included(PARTITIONED[0]):
        # Partition numbers are a handful of small integers: a bounded label value.
        queues += [WatchedQueue(f"{'.'.join(PARTITIONED)}.p{p}") for p in range(partitions)]
    queues += [WatchedQueue(f"{svc}.dlq", dlq_of=svc) for svc in SERVICES_WITH_DLQ if included(svc)]
    return queues


class QueueMonitor:
    """Polls queue depths into the gauges in a background task until stopped.

    A failed poll (broker down, a queue not declared yet) is counted and logged, never raised:
    monitoring must not take the process down with it, and the next poll retries.
    """

    def __init__(
        self,
        settings: Settings,
        queues: Sequence[WatchedQueue] | None = None,
        interval_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.queues = list(queues) if queues is not None else watched_queues()
        self.interval_seconds = interval_seconds
        ns = settings.bus_namespace
        self.prefix = f"{ns}." if ns else ""
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_services(
        cls, settings: Settings, services: Iterable[str], interval_seconds: float = 5.0
    ) -> QueueMonitor:
        return cls(settings, watched_queues(services), interval_seconds)

    async def start(self) -> None:
        """Begin polling in the background; returns at once, even if the broker is down."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="queue-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
            self._channel = None

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                QUEUE_POLL_FAILURES.inc()
                log.warning("queue poll failed", error=str(exc))
            await asyncio.sleep(self.interval_seconds)

    async def _open_channel(self) -> AbstractChannel:
        if self._connection is None or self._connection.is_closed:
            # Not connect_robust: a robust channel caches declared queues and would answer
            # the first message count forever. A broken connection is simply reopened.
            # Each node of AMQP_URL in turn: any node of a cluster answers for every queue.
            failure: Exception | None = None
            for url in amqp_urls(self.settings.amqp_url):
                try:
                    self._connection = await aio_pika.connect(url)
                    break
                except Exception as exc:
                    failure = exc
            else:
                raise failure or ConnectionError("no broker")
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel()
        return self._channel

    async def depth(self, queue_name: str) -> int | None:
        """Ready messages in a (namespaced) queue by a passive declare; None if it is missing."""
        channel = await self._open_channel()
        underlay = await channel.get_underlay_channel()
        try:
            result = await underlay.queue_declare(queue_name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            # A 404 on a passive declare closes the channel: open a fresh one next time.
            self._channel = None
            QUEUE_POLL_FAILURES.inc()
            return None
        return int(result.message_count or 0)

    async def poll_once(self) -> None:
        """Read every watched queue once and set the gauges."""
        for watched in self.queues:
            count = await self.depth(f"{self.prefix}{watched.label}")
            if count is None:
                with contextlib.suppress(KeyError):
                    QUEUE_MESSAGES.remove(watched.label)
                continue
            QUEUE_MESSAGES.labels(watched.label).set(count)
            if watched.dlq_of is not None:
                DEAD_LETTERED_MESSAGES.labels(watched.dlq_of).set(count)


async def start(
    ctx: ServiceContext, services: Iterable[str] | None = None, interval_seconds: float = 5.0
) -> QueueMonitor:
    """Start a monitor for the services this process runs (all for None); stop it on the way out."""
    settings = ctx.settings
    queues = (
        watched_queues(services, settings.routing_partitions) if settings.replica_index == 0 else []
    )
    monitor = QueueMonitor(settings, queues, interval_seconds)
    await monitor.start()
    return monitor
