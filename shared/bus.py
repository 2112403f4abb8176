"""The `contact.events` topic exchange, every service's queues, and confirmed publishing.

The whole topology is declared here, in one place, and every process declares all of it at
start-up (declarations are idempotent): a publish can then never find its queue missing
because the consuming process has not started yet, and a publish that still finds no queue
raises (mandatory + publisher confirms) instead of vanishing.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika import RobustConnection
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection
from faststream import BaseMiddleware
from faststream.exceptions import RejectMessage
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.schemas.queue import QuorumQueueArgs
from prometheus_client import Counter, Histogram
from yarl import URL

from shared.config import Settings
from shared.contracts.base import (
    CHANNELS,
    SCHEMA_VERSION,
    Event,
    UnsupportedSchemaVersion,
    readable,
    schema_version_of,
)
from shared.logging import get_logger

log = get_logger("bus")

EXCHANGE = "contact.events"

REDELIVERED = Counter(
    "cc_redelivered_messages_total",
    "Messages the broker delivered again (a consumer died or nacked before acking)",
    ["family"],
)

UNSUPPORTED_VERSIONS = Counter(
    "cc_unsupported_schema_version_total",
    "Messages dead-lettered because their contracts version (`schema_version`) is neither "
    "the current nor the previous one, by routing-key family and version",
    ["family", "version"],
)

PUBLISHED = Counter(
    "cc_published_events_total",
    "Events published and confirmed by the broker, by routing-key family",
    ["family"],
)

PUBLISH_CONFIRM_SECONDS = Histogram(
    "cc_publish_confirm_seconds",
    "Time from publish to broker confirm, by routing-key family",
    ["family"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@dataclass(frozen=True)
class Subscription:
    """One queue: a service listening to one or more routing-key patterns."""

    service: str
    topic: str
    patterns: tuple[str, ...]


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("ingest", "raw", ("ingest.raw",)),
    Subscription("customers", "inbound", ("inbound.#",)),
    # Only these two can link a conversation to a customer; the chat traffic never does.
    Subscription(
        "customers", "conversation", ("conversation.opened", "conversation.status_changed")
    ),
    Subscription("routing", "inbound", ("inbound.#",)),
    Subscription("routing", "customer", ("customer.*",)),
    Subscription("routing", "ticket", ("ticket.*",)),
    # Tickets keeps a projection for creating services and records sales calls: chat
    # traffic (message_received, message_sent, seen, note_added, hold_reminder) never
    # changes what it reads, so it is not even delivered.
    Subscription(
        "tickets",
        "conversation",
        tuple(
            f"conversation.{action}"
            for action in (
                "opened",
                "assigned",
                "reassigned",
                "escalated",
                "taken",
                "returned",
                "closed",
                "status_changed",
                "call_updated",
            )
        ),
    ),
    # Anonymization of a customer whose services came from a consultation, not a chat.
    Subscription("tickets", "customer", ("customer.anonymized",)),
    Subscription("exports", "conversation", ("conversation.*",)),
    Subscription("exports", "ticket", ("ticket.*",)),
    Subscription("exports", "consultation", ("consultation.*",)),
    Subscription("exports", "customer", ("customer.*",)),
    # The channel gateway's side (ingest): replies waiting to be delivered to customers, and
    # consultation answers waiting for SMTP; tickets hears what became of those answers.
    *(Subscription("connector", ch, (f"outbound.{ch}.message",)) for ch in CHANNELS),
    Subscription("connector", "email", ("outbound.email.message",)),
    Subscription("tickets", "delivery", ("consultation_reply.*",)),
)

SERVICES_WITH_DLQ = sorted({s.service for s in SUBSCRIPTIONS})

# Routing's inbound queue is the one split into partitions when ROUTING_PARTITIONS > 1.
PARTITIONED = ("routing", "inbound")


class PartitioningMismatch(RuntimeError):
    """Another process of this namespace splits routing's inbound traffic differently."""


def amqp_urls(amqp_url: str) -> list[str]:
    """The broker addresses of AMQP_URL: one URL, or several (cluster nodes) comma-separated."""
    urls = [u.strip() for u in amqp_url.split(",") if u.strip()]
    if not urls:
        raise ValueError("AMQP_URL names no broker")
    return urls


def multi_host_connection(amqp_url: str) -> type[RobustConnection]:
    """A robust connection class that tries the nodes of AMQP_URL in turn.

    aio-pika's robust connection reconnects to the one URL it was given; this one moves to
    the next node before every connection attempt (first connect, and each reconnect after
    a node went away), so a client of a cluster survives any one node stopping. The turn is
    kept by the class, so a connection made again after a failed start tries the next node.
    """
    hosts = [URL(u) for u in amqp_urls(amqp_url)]
    turn = itertools.count()

    class MultiHostConnection(RobustConnection):
        _transport: Any = None

        @property  # type: ignore[override]
        def transport(self) -> Any:
            return self._transport

        @transport.setter
        def transport(self, value: Any) -> None:
            # aio-pika clears the transport right before each connection attempt (and when
            # a connection closes): the moment to move on to the next node.
            if value is None and getattr(self, "url", None) is not None and len(hosts) > 1:
                node = hosts[next(turn) % len(hosts)]
                url = self.url.with_host(node.host or "localhost").with_port(node.port)
                if node.user is not None:
                    url = url.with_user(node.user).with_password(node.password)
                self.url = url
            self._transport = value

    return MultiHostConnection


async def connect_cluster(amqp_url: str) -> AbstractRobustConnection:
    """A robust connection to the first node of AMQP_URL that answers (each tried once);
    afterwards it reconnects by itself, to whichever node answers next."""
    urls = amqp_urls(amqp_url)
    connection_class = multi_host_connection(amqp_url)
    failure: Exception | None = None
    for _ in urls:
        try:
            return await aio_pika.connect_robust(urls[0], connection_class=connection_class)
        except ConnectionError as exc:
            failure = exc
    assert failure is not None
    raise failure


def partition_of(event: Event, partitions: int) -> int:
    """The partition of an inbound event: a stable hash of the customer's identity (a
    low-cardinality number, never an id, so it can sit in a routing key and a queue name).
    Every event of one customer lands in the same partition, hence in one queue, in order."""
    identity = getattr(event, "identity", None)
    key = f"{identity.channel}:{identity.external_id}" if identity is not None else event.event_id
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


class Bus:
    """Names, queue objects and publishing for one process, under an optional namespace."""

    def __init__(self, settings: Settings, broker: RabbitBroker) -> None:
        self.settings = settings
        self.broker = broker
        ns = settings.bus_namespace
        self.prefix = f"{ns}." if ns else ""
        self.exchange = RabbitExchange(
            f"{self.prefix}{EXCHANGE}", type=ExchangeType.TOPIC, durable=True
        )
        self._lock = asyncio.Lock()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None

    def queue_name(self, service: str, topic: str) -> str:
        return f"{self.prefix}{service}.{topic}"

    def dead_letter_exchange(self, service: str) -> RabbitExchange:
        return RabbitExchange(
            f"{self.prefix}contact.dlx.{service}", type=ExchangeType.FANOUT, durable=True
        )

    def dead_letter_queue(self, service: str) -> RabbitQueue:
        return RabbitQueue(f"{self.prefix}{service}.dlq", queue_type=QueueType.QUORUM)

    def queue(self, service: str, topic: str) -> RabbitQueue:
        sub = next(s for s in SUBSCRIPTIONS if s.service == service and s.topic == topic)
        arguments: QuorumQueueArgs = {
            "x-delivery-limit": self.settings.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange(service).name,
        }
        if (service, topic) == PARTITIONED:
            # Unpartitioned, routing's inbound queue is still single-active-consumer: a second
            # replica started with default settings is a hot standby, never a competing
            # consumer that would apply one customer's messages out of order.
            arguments["x-single-active-consumer"] = True
        return RabbitQueue(
            f"{self.prefix}{service}.{topic}",
            queue_type=QueueType.QUORUM,
            routing_key=sub.patterns[0],
            arguments=arguments,
        )

    @property
    def partitions(self) -> int:
        return self.settings.routing_partitions

    def partition_queue_name(self, partition: int) -> str:
        service, topic = PARTITIONED
        return f"{self.prefix}{service}.{topic}.p{partition}"

    def partition_queue(self, partition: int) -> RabbitQueue:
        """One partition of routing's inbound traffic: a quorum queue with a single active
        consumer, so however many replicas subscribe, one applies its messages, in order."""
        service, _ = PARTITIONED
        return RabbitQueue(
            self.partition_queue_name(partition),
            queue_type=QueueType.QUORUM,
            arguments={
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": self.dead_letter_exchange(service).name,
                "x-single-active-consumer": True,
            },
        )

    def inbound_queue_names(self) -> list[str]:
        """Where routing's inbound traffic waits: one queue, or one per partition."""
        if self.partitions == 1:
            return [self.queue_name(*PARTITIONED)]
        return [self.partition_queue_name(p) for p in range(self.partitions)]

    def routing_key_for(self, event: Event) -> str:
        """The event's routing key; inbound traffic carries its partition (`.p<k>`) when
        routing is partitioned (`inbound.#` bindings still match it)."""
        key = event.routing_key()
        if self.partitions > 1 and key.startswith("inbound."):
            key = f"{key}.p{partition_of(event, self.partitions)}"
        return key

    def _subscriptions(self) -> list[Subscription]:
        if self.partitions == 1:
            return list(SUBSCRIPTIONS)
        return [s for s in SUBSCRIPTIONS if (s.service, s.topic) != PARTITIONED]

    def all_queue_names(self) -> list[str]:
        names = [f"{self.prefix}{s.service}.{s.topic}" for s in self._subscriptions()]
        if self.partitions > 1:
            names += self.inbound_queue_names()
        names += [f"{self.prefix}{svc}.dlq" for svc in SERVICES_WITH_DLQ]
        return names

    async def declare_topology(self) -> None:
        await self.refuse_other_partitioning()
        exchange = await self.broker.declare_exchange(self.exchange)
        for service in SERVICES_WITH_DLQ:
            dlx = await self.broker.declare_exchange(self.dead_letter_exchange(service))
            dlq = await self.broker.declare_queue(self.dead_letter_queue(service))
            await dlq.bind(dlx, routing_key="")
        for sub in self._subscriptions():
            q = self.queue(sub.service, sub.topic)
            declared = await self.broker.declare_queue(q)
            for pattern in sub.patterns:
                await declared.bind(exchange, routing_key=pattern)
        if self.partitions > 1:
            for p in range(self.partitions):
                declared = await self.broker.declare_queue(self.partition_queue(p))
                # inbound.<channel>.<kind>.p<k> (inbound.ivr.call.p<k> too).
                await declared.bind(exchange, routing_key=f"inbound.*.*.p{p}")

    async def _queue_exists(self, name: str) -> bool:
        channel = await (await self.connection()).channel()
        try:
            await channel.declare_queue(name, passive=True)
            return True
        except aio_pika.exceptions.ChannelClosed:
            return False  # not found (the broker closed the channel)
        finally:
            if not channel.is_closed:
                await channel.close()

    async def refuse_other_partitioning(self) -> None:
        """Refuse to start beside processes whose ROUTING_PARTITIONS disagrees with ours.

        Ingest would route each customer by one setting and routing consume by another: a
        customer's messages would be split over queues and applied out of order, silently.
        The inbound queues on the broker say which setting declared them: the unpartitioned
        queue, or partitions p0..p(n-1).
        """
        n = self.partitions
        first_partition = await self._queue_exists(self.partition_queue_name(0))
        if n == 1:
            conflicts = [f"{self.partition_queue_name(0)} exists"] if first_partition else []
        else:
            others = (self.queue_name(*PARTITIONED), self.partition_queue_name(n))
            conflicts = [f"{name} exists" for name in others if await self._queue_exists(name)]
            last = self.partition_queue_name(n - 1)
            if first_partition and not await self._queue_exists(last):
                conflicts.append(f"{last} is missing")  # a process with fewer partitions ran
        if conflicts:
            raise PartitioningMismatch(
                f"the inbound queues on the broker ({', '.join(conflicts)}) were declared by a "
                f"process with another ROUTING_PARTITIONS (this one has {n}). Give every "
                "process of this BUS_NAMESPACE the same ROUTING_PARTITIONS; after changing it "
                "on purpose, let the old inbound queues drain and delete them (rabbitmqctl "
                "delete_queue <name>)."
            )

    async def connection(self) -> AbstractRobustConnection:
        """The process's own robust AMQP connection for batched consumers and publishing
        (it reconnects by itself; FastStream keeps its own for its subscribers)."""
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await connect_cluster(self.settings.amqp_url)
            return self._connection

    async def _publisher(self) -> AbstractExchange:
        if self._exchange is not None and self._channel is not None and not self._channel.is_closed:
            return self._exchange
        connection = await self.connection()
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                self._channel = channel  # type: ignore[assignment]
                self._exchange = await channel.get_exchange(self.exchange.name, ensure=False)
            assert self._exchange is not None
            return self._exchange

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._channel = None
            self._exchange = None

    async def publish(self, event: Event, routing_key: str | None = None) -> None:
        """Publish persistently and return only once the broker confirmed it.

        Raises if the broker refuses, times out, or no queue takes the message.
        """
        await self.publish_many([event], [routing_key] if routing_key else None)

    async def publish_many(
        self, events: Sequence[Event], routing_keys: Sequence[str | None] | None = None
    ) -> None:
        """Publish several events at once and wait for all their confirms together.

        Raises (after every publish has settled) if any was refused, timed out or found no
        queue; the caller keeps them staged and publishes them again later.
        """
        if not events:
            return
        exchange = await self._publisher()
        keys = [
            (routing_keys[i] if routing_keys else None) or self.routing_key_for(event)
            for i, event in enumerate(events)
        ]
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        event.model_dump_json().encode(),
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=event.event_id,
                        content_type="application/json",
                        type=type(event).__name__,
                    ),
                    routing_key=key,
                    mandatory=True,
                    timeout=self.settings.publish_timeout_seconds,
                )
                for event, key in zip(events, keys, strict=True)
            ),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - started
        failure: BaseException | None = None
        for key, result in zip(keys, results, strict=True):
            family = key.split(".", 1)[0]
            if isinstance(result, BaseException):
                failure = failure or result
                continue
            PUBLISHED.labels(family).inc()
            PUBLISH_CONFIRM_SECONDS.labels(family).observe(elapsed)
        if failure is not None:
            raise failure


class RedeliveryMiddleware(BaseMiddleware):  # type: ignore[type-arg]
    """Counts redeliveries, labelled by routing-key family (never by id)."""

    async def on_receive(self) -> None:
        raw = getattr(self.msg, "redelivered", None)
        if raw:
            key = str(getattr(self.msg, "routing_key", "") or "")
            REDELIVERED.labels(key.split(".", 1)[0] or "direct").inc()


def unsupported_version(body: Any) -> object | None:
    """The body's `schema_version` when this process cannot read it, else None."""
    version = schema_version_of(body)
    return None if readable(version) else version


def refuse_version(routing_key: str, message_id: object, version: object, reason: str) -> None:
    """Count and log a message about to be dead-lettered for its contracts version."""
    family = routing_key.split(".", 1)[0] or "direct"
    label = str(version) if type(version) is int and 0 <= version < 1000 else "other"
    UNSUPPORTED_VERSIONS.labels(family, label).inc()
    log.error(
        "unsupported_schema_version",
        routing_key=routing_key,
        message_id=str(message_id or ""),
        schema_version=repr(version),
        current_schema_version=SCHEMA_VERSION,
        error=reason,
    )


class SchemaVersionMiddleware(BaseMiddleware):  # type: ignore[type-arg]
    """Dead-letters at once a message of a contracts version this process cannot read.

    Every FastStream subscriber goes through it (it is a broker middleware): a body whose
    `schema_version` is neither the current nor the previous one is rejected before its
    handler runs, instead of being misread or redelivered up to the delivery limit; a
    handler that meets one while decoding (`UnsupportedSchemaVersion`) is treated alike.
    """

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        key = str(getattr(msg.raw_message, "routing_key", "") or "")
        try:
            body = await msg.decode()
        except Exception:  # not JSON: the handler's own decoding refuses it as before
            body = None
        version = unsupported_version(body) if isinstance(body, dict) else None
        if version is not None:
            refuse_version(
                key, msg.message_id, version, str(UnsupportedSchemaVersion(version, key))
            )
            raise RejectMessage()
        try:
            return await call_next(msg)
        except UnsupportedSchemaVersion as exc:
            refuse_version(key, msg.message_id, exc.version, str(exc))
            raise RejectMessage() from exc


def make_broker(settings: Settings, **kwargs: object) -> RabbitBroker:
    """A broker with publisher confirms, unroutable messages raising, and a bounded prefetch."""
    from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
    from prometheus_client import REGISTRY

    broker = RabbitBroker(
        amqp_urls(settings.amqp_url)[0],
        default_channel=Channel(
            prefetch_count=settings.prefetch_count,
            publisher_confirms=True,
            on_return_raises=True,
        ),
        graceful_timeout=settings.graceful_timeout_seconds,
        middlewares=(
            RedeliveryMiddleware,
            SchemaVersionMiddleware,
            RabbitPrometheusMiddleware(registry=REGISTRY, app_name="contactcenter"),
        ),
        fail_fast=True,
        # One "Received"/"Processed" pair per message and consumer is too costly to log at
        # the default level: FastStream's access lines are DEBUG.
        log_level=logging.DEBUG,
        **kwargs,  # type: ignore[arg-type]
    )
    # FastStream hands these to aio_pika.connect_robust: its connection, too, tries every
    # node of AMQP_URL in turn.
    broker._connection_kwargs["connection_class"] = multi_host_connection(settings.amqp_url)
    return broker


def subscriber(bus: Bus, service: str, topic: str):  # type: ignore[no-untyped-def]
    """Decorator registering a handler on a service's queue.

    A handler that raises is nacked and requeued; after `delivery_limit` deliveries the
    quorum queue dead-letters it to `<service>.dlq`. Handlers must therefore be idempotent.
    """
    from faststream import AckPolicy

    return bus.broker.subscriber(
        bus.queue(service, topic),
        exchange=bus.exchange,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
