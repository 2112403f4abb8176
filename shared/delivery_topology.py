"""Two queues the delivery path needs beyond `shared/bus.py`'s SUBSCRIPTIONS.

- `connector.email` ← `outbound.email.message`: consultation answers waiting for SMTP;
- `tickets.delivery` ← `consultation_reply.*`: what became of them (and of consultation
  answers sent by WhatsApp).

They are declared exactly as `Bus.queue()` declares the others (quorum, delivery limit,
the service's dead-letter exchange), at start-up of every process that runs ingest or
tickets, whether or not it consumes them: a reply for a channel that cannot send yet must
wait in its queue, not bounce. Meant to move into SUBSCRIPTIONS (then this module goes).
"""

from __future__ import annotations

from faststream.rabbit import QueueType, RabbitQueue

from shared.bus import Bus, Subscription

DELIVERY_SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("connector", "email", ("outbound.email.message",)),
    Subscription("tickets", "delivery", ("consultation_reply.*",)),
)


def queue(bus: Bus, service: str, topic: str) -> RabbitQueue:
    sub = next(s for s in DELIVERY_SUBSCRIPTIONS if s.service == service and s.topic == topic)
    return RabbitQueue(
        f"{bus.prefix}{service}.{topic}",
        queue_type=QueueType.QUORUM,
        routing_key=sub.patterns[0],
        arguments={
            "x-delivery-limit": bus.settings.delivery_limit,
            "x-dead-letter-exchange": bus.dead_letter_exchange(service).name,
        },
    )


def queue_names(prefix: str) -> list[str]:
    return [f"{prefix}{s.service}.{s.topic}" for s in DELIVERY_SUBSCRIPTIONS]


async def declare(bus: Bus) -> None:
    """Idempotent; after `bus.declare_topology()` (the exchanges must exist)."""
    exchange = await bus.broker.declare_exchange(bus.exchange)
    for sub in DELIVERY_SUBSCRIPTIONS:
        declared = await bus.broker.declare_queue(queue(bus, sub.service, sub.topic))
        for pattern in sub.patterns:
            await declared.bind(exchange, routing_key=pattern)
