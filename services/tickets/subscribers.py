"""FastStream subscribers of the tickets service: decode the contract, call a handler."""

from __future__ import annotations

from services.tickets.handlers import Tickets
from shared.bus import Bus, subscriber
from shared.contracts.conversation import ConversationEvent


def register(bus: Bus, tickets: Tickets) -> None:
    @subscriber(bus, "tickets", "conversation")
    async def on_conversation(event: ConversationEvent) -> None:
        """Projection of conversations, and IVR sales calls (`ticket.sales_call`)."""
        await tickets.on_conversation_event(event)
