"""Composition root: builds the ASGI app that runs one or more services in this process."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contactcenter import ops_metrics
from shared.bus import Bus, make_broker
from shared.config import Settings
from shared.logging import configure_logging, get_logger
from shared.mongo import make_client, ping
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

    @router.get("/readyz", summary="Broker and database are reachable")
    async def readyz() -> JSONResponse:
        broker_ok = bool(await ctx.broker.ping(timeout=2.0))
        mongo_ok = await ping(ctx.mongo)
        body: dict[str, object] = {"broker": broker_ok, "database": mongo_ok}
        for service in services:
            for facts in service.readiness:
                body.update(await facts())
        return JSONResponse(body, status_code=200 if broker_ok and mongo_ok else 503)

    @router.get("/metrics", summary="Prometheus metrics of this process")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def build_app(settings: Settings, names: Sequence[str] = SERVICE_NAMES) -> FastAPI:
    """The FastAPI app of this process; its lifespan connects, declares, starts and drains."""
    if not settings.mongo_url:
        raise ValueError("settings.mongo_url must be set (contactcenter up starts one if unset)")
    configure_logging(settings.log_level, settings.log_json)
    broker = make_broker(settings)
    bus = Bus(settings, broker)
    mongo = make_client(settings.mongo_url)
    ctx = ServiceContext(settings=settings, broker=broker, bus=bus, mongo=mongo)
    services = [load_service(name, ctx) for name in names]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broker.connect()
        await bus.declare_topology()
        monitor = await ops_metrics.start(ctx, list(names))
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
            await mongo.close()
            log.info("stopped", services=list(names))

    app = FastAPI(
        title="Contact center",
        version="0.1.0",
        description="Staff HTTP API and channel webhooks of the omnichannel contact center.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ctx = ctx
    app.state.services = {s.name: s for s in services}
    app.include_router(operations_router(ctx, services))
    for service in services:
        if service.router is not None:
            app.include_router(service.router)
    return app
