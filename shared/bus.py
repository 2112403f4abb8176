"""The `contact.events` topic exchange, every service's queues, and confirmed publishing.

The whole topology is declared here, in one place, and every process declares all of it at
start-up (declarations are idempotent): a publish can then never find its queue missing
because the consuming process has not started yet, and a publish that still finds no queue
raises (mandatory + publisher confirms) instead of vanishing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection
from faststream import BaseMiddleware
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from prometheus_client import Counter, Histogram

from shared.config import Settings
from shared.contracts.base import CHANNELS, Event

EXCHANGE = "contact.events"

REDELIVERED = Counter(
    "cc_redelivered_messages_total",
    "Messages the broker delivered again (a consumer died or nacked before acking)",
    ["family"],
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
        return RabbitQueue(
            f"{self.prefix}{service}.{topic}",
            queue_type=QueueType.QUORUM,
            routing_key=sub.patterns[0],
            arguments={
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": self.dead_letter_exchange(service).name,
            },
        )

    def all_queue_names(self) -> list[str]:
        names = [f"{self.prefix}{s.service}.{s.topic}" for s in SUBSCRIPTIONS]
        names += [f"{self.prefix}{svc}.dlq" for svc in SERVICES_WITH_DLQ]
        return names

    async def declare_topology(self) -> None:
        exchange = await self.broker.declare_exchange(self.exchange)
        for service in SERVICES_WITH_DLQ:
            dlx = await self.broker.declare_exchange(self.dead_letter_exchange(service))
            dlq = await self.broker.declare_queue(self.dead_letter_queue(service))
            await dlq.bind(dlx, routing_key="")
        for sub in SUBSCRIPTIONS:
            q = self.queue(sub.service, sub.topic)
            declared = await self.broker.declare_queue(q)
            for pattern in sub.patterns:
                await declared.bind(exchange, routing_key=pattern)

    async def connection(self) -> AbstractRobustConnection:
        """The process's own robust AMQP connection for batched consumers and publishing
        (it reconnects by itself; FastStream keeps its own for its subscribers)."""
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect_robust(self.settings.amqp_url)
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
            (routing_keys[i] if routing_keys else None) or event.routing_key()
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


def make_broker(settings: Settings, **kwargs: object) -> RabbitBroker:
    """A broker with publisher confirms, unroutable messages raising, and a bounded prefetch."""
    from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
    from prometheus_client import REGISTRY

    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(
            prefetch_count=settings.prefetch_count,
            publisher_confirms=True,
            on_return_raises=True,
        ),
        graceful_timeout=settings.graceful_timeout_seconds,
        middlewares=(
            RedeliveryMiddleware,
            RabbitPrometheusMiddleware(registry=REGISTRY, app_name="contactcenter"),
        ),
        fail_fast=True,
        # One "Received"/"Processed" pair per message and consumer is too costly to log at
        # the default level: FastStream's access lines are DEBUG.
        log_level=logging.DEBUG,
        **kwargs,  # type: ignore[arg-type]
    )


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
