"""Wiring of the ingest service: store, handlers, subscribers and HTTP router."""

from __future__ import annotations

from datetime import timedelta

from services.ingest import subscribers
from services.ingest.api import build_router
from services.ingest.handlers import Ingest
from services.ingest.store import DedupeStore
from shared.service import Service, ServiceContext


def create_service(ctx: ServiceContext) -> Service:
    store = DedupeStore(
        ctx.mongo.get_database(ctx.settings.db_name("ingest")),
        stale_after=timedelta(seconds=2 * ctx.settings.publish_timeout_seconds + 5),
    )
    ingest = Ingest(ctx.settings, ctx.bus, store)
    subscribers.register(ctx.bus, ingest)
    return Service(
        name="ingest",
        router=build_router(ingest, ctx.settings),
        startup=[store.ensure_indexes],
    )
