"""Wiring of the exports service: store, subscribers and HTTP router."""

from __future__ import annotations

from services.exports.api import build_router
from services.exports.print_slots import PrintSlots
from services.exports.store import ExportsStore
from services.exports.subscribers import register_subscribers
from shared.service import Service, ServiceContext


def create_service(ctx: ServiceContext) -> Service:
    store = ExportsStore(ctx.mongo.get_database(ctx.settings.db_name("exports")))
    register_subscribers(ctx.bus, store)
    slots = PrintSlots.from_settings(ctx.settings)
    return Service(
        name="exports",
        router=build_router(store, ctx.settings, slots),
        startup=[store.ensure_indexes],
        shutdown=[slots.close],
    )
