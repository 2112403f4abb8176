"""Routing's consumers: inbound traffic in micro-batches (shared/batching.py), customer and
ticket events one by one through FastStream (a few per conversation, not per message).

A batch or handler that raises is retried (a poison message alone is dead-lettered after
the delivery limit); the use cases are idempotent, so a redelivery changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.routing.handlers import Routing
from shared.batching import BatchConsumer, Delivery, Undecodable
from shared.bus import Bus, subscriber
from shared.contracts import CustomerEvent, TicketEvent, parse_inbound
from shared.contracts.inbound import InboundEvent


def register(bus: Bus, routing: Routing) -> list[BatchConsumer]:
    settings = bus.settings

    async def on_inbound_batch(deliveries: list[Delivery]) -> None:
        events: list[InboundEvent] = []
        for delivery in deliveries:
            try:
                events.append(parse_inbound(delivery.body))
            except ValidationError as exc:
                raise Undecodable(str(exc)) from exc
        await routing.inbound.handle(events)

    @subscriber(bus, "routing", "customer")
    async def on_customer(body: dict[str, Any]) -> None:
        await routing.on_customer_event(CustomerEvent.model_validate(body))

    @subscriber(bus, "routing", "ticket")
    async def on_ticket(body: dict[str, Any]) -> None:
        await routing.on_ticket_event(TicketEvent.model_validate(body))

    return [
        BatchConsumer(
            "routing.inbound",
            bus.queue_name("routing", "inbound"),
            on_inbound_batch,
            max_batch=settings.batch_max_messages,
            max_wait=settings.batch_max_wait_ms / 1000,
            prefetch=settings.prefetch_count,
        )
    ]
