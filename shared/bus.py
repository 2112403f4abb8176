"""The `contact.events` topic exchange, every service's queues, and confirmed publishing.

The whole topology is declared here, in one place, and every process declares all of it at
start-up (declarations are idempotent): a publish can then never find its queue missing
because the consuming process has not started yet, and a publish that still finds no queue
raises (mandatory + publisher confirms) instead of vanishing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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
    Subscription("tickets", "conversation", ("conversation.*",)),
    Subscription("exports", "conversation", ("conversation.*",)),
    Subscription("exports", "ticket", ("ticket.*",)),
    Subscription("exports", "consultation", ("consultation.*",)),
    Subscription("exports", "customer", ("customer.*",)),
    # The channel connectors' side: replies waiting to be delivered to customers.
    *(Subscription("connector", ch, (f"outbound.{ch}.message",)) for ch in CHANNELS),
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

    async def publish(self, event: Event, routing_key: str | None = None) -> None:
        """Publish persistently and return only once the broker confirmed it.

        Raises if the broker refuses, times out, or no queue takes the message.
        """
        key = routing_key or event.routing_key()
        started = time.perf_counter()
        await self.broker.publish(
            event.model_dump_json(),
            exchange=self.exchange,
            routing_key=key,
            persist=True,
            mandatory=True,
            message_id=event.event_id,
            content_type="application/json",
            message_type=type(event).__name__,
            timeout=self.settings.publish_timeout_seconds,
        )
        PUBLISH_CONFIRM_SECONDS.labels(key.split(".", 1)[0]).observe(time.perf_counter() - started)


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
