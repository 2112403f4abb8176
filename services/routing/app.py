"""Wiring of the routing service: store, use cases, consumers and HTTP router."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractRobustConnection

from services.routing.api import build_router
from services.routing.bot import build_bot
from services.routing.first_response import ResponseTargets
from services.routing.handlers import Routing
from services.routing.holds import HoldTimers
from services.routing.satisfaction import Survey
from services.routing.store import Store
from services.routing.subscribers import register_subscribers
from shared.access import AccessStore, Directory
from shared.background import cancel, repeat
from shared.batching import BatchConsumer
from shared.secrets import SecretBox
from shared.service import Service, ServiceContext

GAUGE_REFRESH_SECONDS = 5.0
# Overdue first responses are looked for this often (a sparse index: costs what is overdue).
FIRST_RESPONSE_SWEEP_SECONDS = 1.0


def create_service(ctx: ServiceContext) -> Service:
    settings = ctx.settings
    db = ctx.mongo.get_database(settings.db_name("routing"))
    store = Store(db, ctx.bus)
    holds = HoldTimers(db, settings.hold_reminder_seconds)
    bot = build_bot(
        settings.lara_engine,
        settings.welcome_message,
        str(settings.faq_path) if settings.faq_path else None,
        office_hours=settings.office_hours,
        tz=settings.tz,
    )
    routing = Routing(
        store,
        bot,
        holds,
        SecretBox(settings.secrets_key),
        settings.tz,
        template_configured=bool(settings.whatsapp_template_name),
        # Assignments go to active agents and staff of the directory (shared/access).
        people=Directory(AccessStore(settings, ctx.mongo)),
        survey=Survey.from_settings(settings),
        targets=ResponseTargets.from_settings(settings),
    )
    consumers = register_subscribers(ctx.bus, routing)
    tasks: list[asyncio.Task[None]] = []
    started: list[BatchConsumer] = []

    async def join_as_standby(connection: AbstractRobustConnection) -> None:
        """Subscribe to the other replicas' partitions once they had time to take them: the
        broker keeps this process waiting behind their active consumer, and makes it active
        when that consumer goes away (its replica died or stopped)."""
        await asyncio.sleep(settings.routing_standby_delay_seconds)
        for consumer in consumers.standby:
            await consumer.start(connection)
            started.append(consumer)

    async def start() -> None:
        await store.ensure_indexes()
        await holds.ensure_indexes()
        store.effects.start()
        connection = await ctx.bus.connection()
        for consumer in consumers.own:
            await consumer.start(connection)
        if consumers.standby:
            tasks.append(asyncio.create_task(join_as_standby(connection), name="routing-standby"))
        tasks.append(asyncio.create_task(holds.run(routing.notify_hold), name="routing-holds"))
        # On every replica: a miss is recorded by one version-guarded write, whoever wins.
        tasks.append(
            asyncio.create_task(
                repeat(
                    routing.sweep_first_responses,
                    FIRST_RESPONSE_SWEEP_SECONDS,
                    "routing-first-response",
                ),
                name="routing-first-response",
            )
        )
        if settings.replica_index == 0:
            # Conversation counts come from the shared database: one replica (the elected
            # reporter, REPLICA_INDEX 0) reports them, so a sum over replicas counts once.
            tasks.append(
                asyncio.create_task(
                    repeat(routing.refresh_gauges, GAUGE_REFRESH_SECONDS, "routing-gauges"),
                    name="routing-gauges",
                )
            )

    async def stop() -> None:
        await cancel(tasks)
        for consumer in consumers.own + started:
            await consumer.stop()
        started.clear()
        tasks.clear()
        await store.effects.stop()

    return Service(name="routing", router=build_router(routing), startup=[start], shutdown=[stop])
