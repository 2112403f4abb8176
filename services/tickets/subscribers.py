"""The tickets service's consumer: conversation events (a projection for creating services
from a conversation, and IVR sales calls), in micro-batches (shared/batching.py)."""

from __future__ import annotations

from pydantic import ValidationError

from services.tickets.handlers import Tickets
from shared.batching import BatchConsumer, Delivery, Undecodable
from shared.bus import Bus
from shared.contracts.conversation import ConversationEvent


def register(bus: Bus, tickets: Tickets) -> list[BatchConsumer]:
    settings = bus.settings

    async def on_conversations(deliveries: list[Delivery]) -> None:
        events = []
        for delivery in deliveries:
            try:
                events.append(ConversationEvent.model_validate(delivery.body))
            except ValidationError as exc:
                raise Undecodable(str(exc)) from exc
        await tickets.on_conversation_events(events)

    return [
        BatchConsumer(
            "tickets.conversation",
            bus.queue_name("tickets", "conversation"),
            on_conversations,
            max_batch=settings.batch_max_messages,
            max_wait=settings.batch_max_wait_ms / 1000,
            prefetch=settings.prefetch_count,
        )
    ]
