"""FastStream subscribers of the exports service: decode the contract, call the handler.

A handler that raises is nacked and redelivered (dead-lettered after the delivery limit);
the handlers are idempotent, so a redelivery changes nothing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.exports import handlers, reports_feed
from services.exports.reports_store import ReportsStore
from services.exports.store import ExportsStore
from shared.batching import BatchConsumer, Delivery, batch_consumer, decode_all
from shared.bus import Bus, subscriber
from shared.contracts import ConsultationEvent, ConversationEvent, CustomerEvent, TicketEvent
from shared.logging import bind_context

SERVICE = "exports"


def register_subscribers(
    bus: Bus,
    store: ExportsStore,
    chat_lines: handlers.ChatLineCoalescer,
    reports: ReportsStore,
) -> list[BatchConsumer]:
    """The tables' and the reports' read models consume the same events; a delivery is
    acked once both took it (each is idempotent, so a redelivery changes neither)."""
    tz = ZoneInfo(bus.settings.tz)

    async def on_conversations(deliveries: list[Delivery]) -> None:
        """Chat traffic: one event per message, so it is consumed in micro-batches."""
        events = decode_all(deliveries, ConversationEvent.model_validate)
        await handlers.on_conversations(store, events, chat_lines)
        await reports_feed.count_conversations(reports, events, tz)

    @subscriber(bus, SERVICE, "ticket")
    async def on_ticket(event: TicketEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_ticket(store, event)
            await reports_feed.count_ticket(reports, event, tz)

    @subscriber(bus, SERVICE, "consultation")
    async def on_consultation(event: ConsultationEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_consultation(store, event)
            await reports_feed.count_consultation(reports, event, tz)

    @subscriber(bus, SERVICE, "customer")
    async def on_customer(event: CustomerEvent) -> None:
        with bind_context(event_id=event.event_id):
            await handlers.on_customer(store, event)

    return [
        batch_consumer(
            bus.settings,
            "exports.conversation",
            bus.queue_name(SERVICE, "conversation"),
            on_conversations,
        )
    ]
