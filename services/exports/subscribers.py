"""FastStream subscribers of the exports service: decode the contract, call the handler.

A handler that raises is nacked and redelivered (dead-lettered after the delivery limit);
the handlers are idempotent, so a redelivery changes nothing.
"""

from __future__ import annotations

from services.exports import handlers
from services.exports.store import ExportsStore
from shared.bus import Bus, subscriber
from shared.contracts import ConsultationEvent, ConversationEvent, CustomerEvent, TicketEvent
from shared.logging import bind_context

SERVICE = "exports"


def register_subscribers(bus: Bus, store: ExportsStore) -> None:
    @subscriber(bus, SERVICE, "conversation")
    async def on_conversation(event: ConversationEvent) -> None:
        with bind_context(
            event_id=event.event_id, conversation_id=event.conversation.conversation_id
        ):
            await handlers.on_conversation(store, event)

    @subscriber(bus, SERVICE, "ticket")
    async def on_ticket(event: TicketEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_ticket(store, event)

    @subscriber(bus, SERVICE, "consultation")
    async def on_consultation(event: ConsultationEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_consultation(store, event)

    @subscriber(bus, SERVICE, "customer")
    async def on_customer(event: CustomerEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_customer(store, event)
