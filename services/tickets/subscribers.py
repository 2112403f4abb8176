"""FastStream subscribers of the tickets service: decode the contract, call a handler."""

from __future__ import annotations

from faststream import AckPolicy

from services.tickets.handlers import Tickets
from shared import delivery_topology
from shared.bus import Bus, subscriber
from shared.contracts.conversation import ConversationEvent
from shared.contracts.delivery import ConsultationReplyStatus


def register(bus: Bus, tickets: Tickets) -> None:
    @subscriber(bus, "tickets", "conversation")
    async def on_conversation(event: ConversationEvent) -> None:
        """Projection of conversations, and IVR sales calls (`ticket.sales_call`)."""
        await tickets.on_conversation_event(event)

    @bus.broker.subscriber(  # type: ignore[misc]
        delivery_topology.queue(bus, "tickets", "delivery"),
        exchange=bus.exchange,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_reply_status(report: ConsultationReplyStatus) -> None:
        """The channel gateway sent (or could not send) a consultation's answer."""
        await tickets.on_reply_status(report)
