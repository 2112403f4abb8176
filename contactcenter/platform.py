"""Composition root: builds the ASGI app that runs one or more services in this process."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from contactcenter import ops_metrics
from shared import http_guard
from shared.auth import User, may
from shared.bus import Bus, make_broker
from shared.config import Settings, ensure_deployable
from shared.logging import configure_logging, get_logger
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


def operations_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Broker and database are reachable")
    async def readyz() -> JSONResponse:
        broker_ok = bool(await ctx.broker.ping(timeout=2.0))
        mongo_ok = await ping(ctx.mongo)
        body = {"broker": broker_ok, "database": mongo_ok}
        return JSONResponse(body, status_code=200 if broker_ok and mongo_ok else 503)

    @router.get("/metrics", summary="Prometheus metrics of this process")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class Revoked(BaseModel):
    user_id: str
    tokens_valid_after: datetime


def access_router(revocations: Revocations) -> APIRouter:
    router = APIRouter(prefix="/api/access", tags=["access"])

    @router.post(
        "/users/{user_id}/revoke",
        response_model=Revoked,
        summary="Void every token a user holds now (admin)",
    )
    async def revoke(
        user_id: Annotated[str, Path(min_length=1, max_length=128)],
        user: Annotated[User, may("auth.revoke")],
    ) -> Revoked:
        """Tokens issued at or before this second are refused from now on, in every process;
        the user signs in again (a new token, a second later)."""
        after = await revocations.revoke(user_id, user.actor)
        log.warning("tokens_revoked", user_id=user_id, by=user.actor)
        return Revoked(user_id=user_id, tokens_valid_after=after)

    return router


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
            await bus.close()
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
    app.state.revocations = revocations = Revocations(settings, mongo)
    app.state.throttle = http_guard.install(app, settings, revocations)
    app.include_router(operations_router(ctx))
    app.include_router(access_router(revocations))
    for service in services:
        if service.router is not None:
            app.include_router(service.router)
    return app
