"""The tickets service's consumer: conversation events (a projection for creating services
from a conversation, and IVR sales calls), in micro-batches (shared/batching.py)."""

from __future__ import annotations

from services.tickets.handlers import Tickets
from shared.batching import BatchConsumer, Delivery, batch_consumer, decode_all
from shared.bus import SUBSCRIPTIONS, Bus, subscriber
from shared.contracts.conversation import ConversationEvent
from shared.contracts.customer import CustomerEvent
from shared.contracts.delivery import ConsultationReplyStatus


def register_subscribers(bus: Bus, tickets: Tickets) -> list[BatchConsumer]:
    settings = bus.settings

    async def on_conversations(deliveries: list[Delivery]) -> None:
        await tickets.on_conversation_events(
            decode_all(deliveries, ConversationEvent.model_validate)
        )

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
        batch_consumer(
            settings,
            "tickets.conversation",
            bus.queue_name("tickets", "conversation"),
            on_conversations,
        )
    ]
