"""Composition root: builds the ASGI app that runs one or more services in this process."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import PlainTextResponse
from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contactcenter import console, ops_metrics
from contactcenter.docs import install_docs
from contactcenter.openapi import install_complete_openapi
from shared import errors, http_guard
from shared.access import Access, AccessStore
from shared.access.api import build_router as access_router
from shared.bus import Bus, make_broker
from shared.config import Settings, ensure_deployable
from shared.errors import install_error_handlers
from shared.http_errors import install_unicode_error_handlers
from shared.logging import attach_message_context, broker_logger, configure_logging, get_logger
from shared.mongo import make_client, ping
from shared.revocations import Revocations
from shared.service import Service, ServiceContext

SERVICE_NAMES: tuple[str, ...] = ("ingest", "customers", "routing", "tickets", "exports")

log = get_logger("platform")


def load_service(name: str, ctx: ServiceContext) -> Service:
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICE_NAMES)}")
    module = importlib.import_module(f"services.{name}.app")
    service: Service = module.create_service(ctx)
    return service


def operations_router(ctx: ServiceContext, services: Sequence[Service] = ()) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Broker and database are reachable",
        responses=errors.responses(503),
    )
    async def readyz() -> dict[str, object]:
        broker_ok = bool(await ctx.broker.ping(timeout=2.0))
        mongo_ok = await ping(ctx.mongo)
        if not (broker_ok and mongo_ok):
            down = [name for name, ok in (("broker", broker_ok), ("database", mongo_ok)) if not ok]
            raise errors.Unavailable(
                "La plataforma no está lista: no responde "
                + " ni ".join(
                    {"broker": "RabbitMQ", "database": "la base de datos"}[d] for d in down
                )
                + ".",
                code="not_ready",
                details=[
                    {"field": d, "message": "unreachable", "type": "dependency"} for d in down
                ],
            )
        body: dict[str, object] = {"broker": True, "database": True}
        for service in services:
            for facts in service.readiness:
                body.update(await facts())
        return body

    @router.get(
        "/metrics",
        summary="Prometheus metrics of this process",
        # Prometheus's text exposition format, not JSON: documented as what it serves.
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def connect_broker(broker: RabbitBroker, settings: Settings) -> None:
    """Connect, waiting for a broker that refuses connections for up to
    `broker_connect_timeout_seconds` (doubling the pause up to 10 s and logging each wait),
    so a platform started before RabbitMQ is ready does not exit on the first refusal."""
    broker_at = urlsplit(settings.amqp_url)
    where = f"{broker_at.hostname}:{broker_at.port or 5672}"  # never the credentials
    deadline = time.monotonic() + settings.broker_connect_timeout_seconds
    pause, attempt = 0.5, 1
    while True:
        try:
            await broker.connect()
        except OSError as exc:  # aio-pika's AMQPConnectionError is a ConnectionError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.error(
                    "broker unreachable; giving up",
                    broker=where,
                    attempts=attempt,
                    waited_seconds=settings.broker_connect_timeout_seconds,
                    error=str(exc),
                )
                raise
            wait = min(pause, remaining)
            log.warning(
                "waiting for the broker",
                broker=where,
                attempt=attempt,
                retry_in_seconds=round(wait, 1),
                gives_up_in_seconds=round(remaining, 1),
                error=str(exc),
            )
            await asyncio.sleep(wait)
            pause, attempt = min(pause * 2, 10.0), attempt + 1
        else:
            if attempt > 1:
                log.info("broker connected", broker=where, attempts=attempt)
            return


def build_app(settings: Settings, names: Sequence[str] = SERVICE_NAMES) -> FastAPI:
    """The FastAPI app of this process; its lifespan connects, declares, starts and drains.

    Refuses (`UnsafeSettings`) to build with a development secret unless `dev_mode` is on,
    and then warns once per offending setting."""
    dev_secrets = ensure_deployable(settings)
    if not settings.mongo_url:
        raise ValueError("settings.mongo_url must be set (contactcenter up starts one if unset)")
    configure_logging(settings.log_level, settings.log_json)
    for problem in dev_secrets:
        log.warning("DEV_MODE: development secret in use, never deploy this", problem=problem)
    # FastStream's default access logger prints coloured lines on stdout: give it ours.
    access_log = broker_logger()
    broker = make_broker(settings, logger=access_log)
    attach_message_context(access_log, broker.context)
    bus = Bus(settings, broker)
    mongo = make_client(settings.mongo_url)
    ctx = ServiceContext(settings=settings, broker=broker, bus=bus, mongo=mongo)
    revocations = Revocations(settings, mongo)
    access = Access(settings, AccessStore(settings, mongo), revocations)
    services = [load_service(name, ctx) for name in names]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await connect_broker(broker, settings)
        await bus.declare_topology()
        monitor = await ops_metrics.start(ctx, list(names))
        await access.store.ensure_indexes()
        for service in services:
            for hook in service.startup:
                await hook()
        await broker.start()
        log.info("started", services=list(names))
        try:
            yield
        finally:
            await monitor.stop()
            # broker.stop() waits for in-flight handlers (graceful_timeout) before closing.
            await broker.stop()
            for service in reversed(services):
                for hook in service.shutdown:
                    await hook()
            await bus.close()
            await mongo.close()
            log.info("stopped", services=list(names))

    app = FastAPI(
        title="Contact center",
        version="0.1.0",
        description=(
            "Staff HTTP API and channel webhooks of the omnichannel contact center.\n\n"
            'Every error answers `{"error": {"code", "message", "details"}}`: a '
            "stable machine `code`, a Spanish `message` for staff, and `details` (the fields "
            "of a 422, the reason of a refusal). The message bus is documented at "
            "[/asyncapi](/asyncapi) ([/asyncapi.json](/asyncapi.json))."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_unicode_error_handlers(app)
    install_docs(app, settings)
    install_complete_openapi(app)
    app.state.settings = settings
    app.state.ctx = ctx
    app.state.services = {s.name: s for s in services}
    app.state.revocations = revocations
    # Users, console sessions and the directory (shared/access): one for the whole process.
    app.state.access = app.state.sessions = access
    app.state.throttle = http_guard.install(app, settings, revocations, sessions=access)
    app.include_router(operations_router(ctx, services))
    app.include_router(access_router(access))
    for service in services:
        if service.router is not None:
            app.include_router(service.router)
    console.mount(app)
    return app
