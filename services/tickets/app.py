"""Wiring of the tickets service: store, handlers, subscribers and HTTP router."""

from __future__ import annotations

import asyncio
import contextlib

from services.tickets.api import create_router
from services.tickets.handlers import Tickets
from services.tickets.store import TicketsStore
from services.tickets.subscribers import register
from shared.contracts.base import Event
from shared.contracts.ticket import ConsultationEvent, TicketEvent
from shared.outbox import Outbox
from shared.service import Service, ServiceContext

EVENT_TYPES: dict[str, type[Event]] = {
    "TicketEvent": TicketEvent,
    "ConsultationEvent": ConsultationEvent,
}


def create_service(ctx: ServiceContext) -> Service:
    db = ctx.mongo.get_database(ctx.settings.db_name("tickets"))
    store = TicketsStore(db)
    outbox = Outbox(db, ctx.bus, EVENT_TYPES)
    tickets = Tickets(store, outbox, ctx.settings)
    register(ctx.bus, tickets)

    background: list[asyncio.Task[None]] = []

    async def startup() -> None:
        await store.ensure_indexes()
        await outbox.ensure_indexes()
        outbox.start()
        background.append(asyncio.create_task(tickets.run_republisher(), name="republisher"))

    async def shutdown() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await outbox.stop()

    return Service(
        name="tickets", router=create_router(tickets), startup=[startup], shutdown=[shutdown]
    )
