"""Wiring of the tickets service: store, handlers, subscribers and HTTP router."""

from __future__ import annotations

import asyncio

from services.tickets.api import build_router
from services.tickets.handlers import Tickets
from services.tickets.store import TicketsStore
from services.tickets.subscribers import register_subscribers
from shared.background import cancel, repeat
from shared.batching import start_all, stop_all
from shared.contracts.base import Event
from shared.contracts.conversation import OutboundMessage
from shared.contracts.delivery import ConsultationEmail
from shared.contracts.ticket import ConsultationEvent, TicketEvent
from shared.outbox import Outbox
from shared.service import Service, ServiceContext

REPUBLISH_SECONDS = 5.0

EVENT_TYPES: dict[str, type[Event]] = {
    "TicketEvent": TicketEvent,
    "ConsultationEvent": ConsultationEvent,
    # Consultation answers to send (email, or WhatsApp when the customer gave a phone).
    "ConsultationEmail": ConsultationEmail,
    "OutboundMessage": OutboundMessage,
}


def create_service(ctx: ServiceContext) -> Service:
    db = ctx.mongo.get_database(ctx.settings.db_name("tickets"))
    store = TicketsStore(db)
    outbox = Outbox(db, ctx.bus, EVENT_TYPES)
    tickets = Tickets(store, outbox, ctx.settings)
    consumers = register_subscribers(ctx.bus, tickets)

    background: list[asyncio.Task[None]] = []

    async def startup() -> None:
        await store.ensure_indexes()
        await outbox.ensure_indexes()
        outbox.start()
        await start_all(await ctx.bus.connection(), consumers)
        # Repairs what a crash between a write and its event left behind.
        republisher = repeat(tickets.republish_unstaged, REPUBLISH_SECONDS, "republisher")
        background.append(asyncio.create_task(republisher, name="republisher"))

    async def shutdown() -> None:
        await stop_all(consumers)
        await cancel(background)
        await outbox.stop()

    return Service(
        name="tickets", router=build_router(tickets), startup=[startup], shutdown=[shutdown]
    )
