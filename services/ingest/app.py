"""Wiring of the ingest service: store, handlers, subscribers, HTTP router and delivery."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from services.ingest import subscribers
from services.ingest.api import build_router
from services.ingest.delivery_store import DeliveryStore
from services.ingest.handlers import Ingest
from services.ingest.metrics import OUTBOUND_PAUSED
from services.ingest.outbound.channels import (
    EmailSender,
    MessengerSender,
    ReadOnlySender,
    Sender,
    WhatsAppSender,
)
from services.ingest.outbound.delivery import Delivery
from services.ingest.outbound.graph import GraphClient
from services.ingest.store import DEDUPE_HEARTBEAT_SECONDS, DedupeStore
from shared.background import cancel, repeat
from shared.config import Settings
from shared.service import Service, ServiceContext

PENDING_GAUGE_SECONDS = 15.0


def paused_channels(settings: Settings) -> dict[str, str]:
    """Channels that cannot send, and the setting that is missing."""
    paused: dict[str, str] = {}
    if not (settings.whatsapp_access_token and settings.whatsapp_phone_number_id):
        paused["whatsapp"] = "WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID must be set"
    if not settings.messenger_page_access_token:
        paused["messenger"] = "MESSENGER_PAGE_ACCESS_TOKEN must be set"
    if not settings.smtp_host:
        paused["email"] = "SMTP_HOST must be set"
    return paused


def build_senders(settings: Settings, graph: GraphClient) -> dict[str, Sender]:
    every: dict[str, Sender] = {
        "whatsapp": WhatsAppSender(settings, graph),
        "messenger": MessengerSender(settings, graph),
        "email": EmailSender(settings),
        "webchat": ReadOnlySender("webchat"),
        "ivr": ReadOnlySender("ivr"),
    }
    paused = paused_channels(settings)
    for channel in ("whatsapp", "messenger", "email"):
        OUTBOUND_PAUSED.labels(channel).set(1 if channel in paused else 0)
    return {channel: sender for channel, sender in every.items() if channel not in paused}


def create_service(ctx: ServiceContext) -> Service:
    settings = ctx.settings
    db = ctx.mongo.get_database(settings.db_name("ingest"))
    store = DedupeStore(db, stale_after=timedelta(seconds=2 * settings.publish_timeout_seconds + 5))
    ingest = Ingest(settings, ctx.bus, store)
    subscribers.register_subscribers(ctx.bus, ingest)

    graph = GraphClient(
        settings.graph_api_base_url, settings.graph_api_version, settings.graph_api_timeout_seconds
    )
    deliveries = DeliveryStore(db)
    senders = build_senders(settings, graph)
    delivery = Delivery(settings, ctx.bus, deliveries, senders)
    subscribers.register_delivery(ctx.bus, delivery, list(senders))
    background: list[asyncio.Task[None]] = []

    async def startup() -> None:
        await store.ensure_indexes()
        await deliveries.ensure_indexes()
        # Which claims are settled is told once a second, not written per event.
        background.append(
            asyncio.create_task(
                repeat(store.heartbeat, DEDUPE_HEARTBEAT_SECONDS, "dedupe-heartbeat"),
                name="dedupe-heartbeat",
            )
        )
        background.append(
            asyncio.create_task(
                repeat(delivery.sweep_once, settings.delivery_sweep_seconds, "delivery-sweeper"),
                name="delivery-sweeper",
            )
        )
        background.append(
            asyncio.create_task(
                repeat(delivery.refresh_pending, PENDING_GAUGE_SECONDS, "delivery-pending"),
                name="delivery-pending",
            )
        )

    async def shutdown() -> None:
        await cancel(background)
        await graph.close()

    async def readiness() -> dict[str, Any]:
        paused = paused_channels(settings)
        return {
            "delivery": {
                channel: (f"paused: {paused[channel]}" if channel in paused else "sending")
                for channel in ("whatsapp", "messenger", "email")
            }
        }

    return Service(
        name="ingest",
        router=build_router(ingest, settings),
        startup=[startup],
        shutdown=[shutdown],
        readiness=[readiness],
    )
