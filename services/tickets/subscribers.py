"""FastStream subscribers of the tickets service: decode the contract, call a handler."""

from __future__ import annotations

from services.tickets.handlers import Tickets
from shared.bus import SUBSCRIPTIONS, Bus, subscriber
from shared.contracts.conversation import ConversationEvent
from shared.contracts.customer import CustomerEvent


def register(bus: Bus, tickets: Tickets) -> None:
    @subscriber(bus, "tickets", "conversation")
    async def on_conversation(event: ConversationEvent) -> None:
        """Projection of conversations, and IVR sales calls (`ticket.sales_call`)."""
        await tickets.on_conversation_event(event)

    # Anonymization also arrives per conversation (routing's `customer_anonymized`); the
    # customer's own event reaches services with no conversation (from a consultation).
    # Registered once the bus declares the queue `tickets.customer` (`customer.anonymized`).
    if any(s.service == "tickets" and s.topic == "customer" for s in SUBSCRIPTIONS):

        @subscriber(bus, "tickets", "customer")
        async def on_customer(event: CustomerEvent) -> None:
            await tickets.on_customer_event(event)
