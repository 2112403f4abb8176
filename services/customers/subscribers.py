"""FastStream subscriber: every inbound message or call identifies its customer."""

from __future__ import annotations

from typing import Any

from faststream.exceptions import RejectMessage
from pydantic import ValidationError

from services.customers.handlers import CustomerHandlers
from shared.bus import Bus, subscriber
from shared.contracts import ConversationEvent, DeliveryStatus, parse_inbound
from shared.logging import bind_context, get_logger

log = get_logger("customers.subscribers")


def register_subscribers(bus: Bus, handlers: CustomerHandlers) -> None:
    @subscriber(bus, "customers", "inbound")
    async def on_inbound(body: dict[str, Any]) -> None:
        try:
            event = parse_inbound(body)
        except ValidationError as exc:
            # A body no redelivery can fix goes straight to the dead-letter queue.
            log.error("inbound_undecodable", errors=exc.error_count())
            raise RejectMessage() from exc
        if isinstance(event, DeliveryStatus):
            return  # receipts say nothing about who the customer is
        with bind_context(event_id=event.event_id):
            await handlers.identify(event)

    @subscriber(bus, "customers", "conversation")
    async def on_conversation(event: ConversationEvent) -> None:
        # The queue is bound to the only two actions that can link a conversation to a
        # customer (shared/bus.py): no chat traffic reaches this handler.
        snap = event.conversation
        await handlers.on_conversation(snap.conversation_id, snap.customer_id)
