"""Wiring of the exports service: store, consumers and HTTP router."""

from __future__ import annotations

from fastapi import APIRouter

from services.exports.api import build_router
from services.exports.handlers import ChatLineCoalescer
from services.exports.print_slots import PrintSlots
from services.exports.reports_api import build_reports_router
from services.exports.reports_store import ReportsStore
from services.exports.store import ExportsStore
from services.exports.subscribers import register_subscribers
from shared.access import AccessStore, Directory
from shared.batching import start_all, stop_all
from shared.service import Service, ServiceContext


def create_service(ctx: ServiceContext) -> Service:
    db = ctx.mongo.get_database(ctx.settings.db_name("exports"))
    store = ExportsStore(db)
    reports = ReportsStore(db)
    chat_lines = ChatLineCoalescer(store, window=ctx.settings.exports_chat_line_seconds)
    consumers = register_subscribers(ctx.bus, store, chat_lines, reports)
    slots = PrintSlots.from_settings(ctx.settings)
    # People by their display names (shared/access), as the console shows them.
    people = Directory(AccessStore(ctx.settings, ctx.mongo))

    async def start() -> None:
        await store.ensure_indexes()
        await reports.ensure_indexes()
        await start_all(await ctx.bus.connection(), consumers)

    async def stop() -> None:
        await stop_all(consumers)
        await chat_lines.flush()
        await slots.close()

    router = APIRouter()
    router.include_router(build_router(store, ctx.settings, slots, people))
    router.include_router(build_reports_router(reports, ctx.settings, slots, people))
    return Service(
        name="exports",
        router=router,
        startup=[start],
        shutdown=[stop],
    )
