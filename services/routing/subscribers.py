"""Routing's consumers: inbound traffic in micro-batches (shared/batching.py), customer and
ticket events one by one through FastStream (a few per conversation, not per message).

Order per customer across replicas: with ROUTING_PARTITIONS > 1, ingest puts each customer's
partition in the routing key and every routing replica subscribes to every partition queue;
each partition has a single active consumer (the broker's `x-single-active-consumer`), so one
process applies a customer's messages, in the order published, and when it dies the broker
hands the partition to the next subscriber. `spread` says which partitions a replica takes
first (its own) and which it joins as a standby a few seconds later: RabbitMQ makes the first
subscriber the active one and never rebalances, so subscribing in that order spreads the
partitions over the replicas that are up.

A batch or handler that raises is retried (a poison message alone is dead-lettered after
the delivery limit); the use cases are idempotent, so a redelivery changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.routing.handlers import Routing
from shared.batching import BatchConsumer, Delivery, batch_consumer, decode_all
from shared.bus import Bus, subscriber
from shared.contracts import CustomerEvent, TicketEvent, parse_inbound
from shared.contracts.inbound import InboundEvent


@dataclass(frozen=True)
class InboundConsumers:
    """Routing's inbound consumers: `own` start at once, `standby` after the standby delay."""

    own: list[BatchConsumer]
    standby: list[BatchConsumer]

    @property
    def all(self) -> list[BatchConsumer]:
        return self.own + self.standby


def spread(partitions: int, replica_index: int, replica_count: int) -> tuple[list[int], list[int]]:
    """(own, standby) partitions of one replica: p is its own when p % count == index."""
    own = [p for p in range(partitions) if p % replica_count == replica_index % replica_count]
    return own, [p for p in range(partitions) if p not in own]


def register_subscribers(bus: Bus, routing: Routing) -> InboundConsumers:
    settings = bus.settings

    async def on_inbound_batch(deliveries: list[Delivery]) -> None:
        events: list[InboundEvent] = decode_all(deliveries, parse_inbound)
        await routing.inbound.handle(events)

    @subscriber(bus, "routing", "customer")
    async def on_customer(body: dict[str, Any]) -> None:
        await routing.on_customer_event(CustomerEvent.model_validate(body))

    @subscriber(bus, "routing", "ticket")
    async def on_ticket(body: dict[str, Any]) -> None:
        await routing.on_ticket_event(TicketEvent.model_validate(body))

    def consumer(queue_name: str) -> BatchConsumer:
        return batch_consumer(settings, "routing.inbound", queue_name, on_inbound_batch)

    if bus.partitions == 1:
        return InboundConsumers([consumer(bus.queue_name("routing", "inbound"))], [])
    own, standby = spread(bus.partitions, settings.replica_index, settings.replica_count)
    return InboundConsumers(
        [consumer(bus.partition_queue_name(p)) for p in own],
        [consumer(bus.partition_queue_name(p)) for p in standby],
    )
