"""Wiring of the customers service: store, handlers, consumers and HTTP router."""

from __future__ import annotations

from services.customers.api import build_router
from services.customers.handlers import CustomerHandlers
from services.customers.store import CustomerStore
from services.customers.subscribers import register_subscribers
from shared.batching import start_all, stop_all
from shared.contracts import CustomerEvent
from shared.outbox import EmbeddedOutbox
from shared.service import Service, ServiceContext


def create_service(ctx: ServiceContext) -> Service:
    db = ctx.mongo.get_database(ctx.settings.db_name("customers"))
    store = CustomerStore(db)
    outbox = EmbeddedOutbox(
        store.customers, ctx.bus, {"CustomerEvent": CustomerEvent}, name="customers-outbox"
    )
    handlers = CustomerHandlers(store, outbox)
    outbox.materialize = handlers.materialize
    consumers = register_subscribers(ctx.bus, handlers)

    async def prepare() -> None:
        await store.ensure_indexes()
        await outbox.ensure_indexes()
        await store.seed_tags()
        outbox.start()
        await start_all(await ctx.bus.connection(), consumers)

    async def stop() -> None:
        await stop_all(consumers)
        await outbox.stop()

    return Service(
        name="customers",
        router=build_router(handlers),
        startup=[prepare],
        shutdown=[stop],
    )
