"""The tickets service's consumer: conversation events (a projection for creating services
from a conversation, and IVR sales calls), in micro-batches (shared/batching.py)."""

from __future__ import annotations

from pydantic import ValidationError

from services.tickets.handlers import Tickets
from shared.batching import BatchConsumer, Delivery, Undecodable
from shared.bus import SUBSCRIPTIONS, Bus, subscriber
from shared.contracts.conversation import ConversationEvent
from shared.contracts.customer import CustomerEvent
from shared.contracts.delivery import ConsultationReplyStatus


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

    # Anonymization also arrives per conversation (routing's `customer_anonymized`); the
    # customer's own event reaches services with no conversation (from a consultation).
    if any(s.service == "tickets" and s.topic == "customer" for s in SUBSCRIPTIONS):

        @subscriber(bus, "tickets", "customer")
        async def on_customer(event: CustomerEvent) -> None:
            await tickets.on_customer_event(event)

    @subscriber(bus, "tickets", "delivery")
    async def on_reply_status(report: ConsultationReplyStatus) -> None:
        """The channel gateway sent (or could not send) a consultation's answer."""
        await tickets.on_reply_status(report)

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
