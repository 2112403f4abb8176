"""The shape every service hands to the process that runs it.

`services/<name>/app.py` exposes `create_service(ctx) -> Service`. The runner (one service
alone, or all five in `contactcenter up`) includes the HTTP router, registers the
subscribers on the broker before it starts, then calls `startup` and, on the way out,
`shutdown`. Nothing else couples a service to the process it runs in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from shared.bus import Bus
from shared.config import Settings
from shared.mongo import Document

Hook = Callable[[], Awaitable[None]]
# Extra facts for /readyz (e.g. a channel paused for lack of credentials). They inform;
# they do not make the process unready.
Readiness = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class ServiceContext:
    settings: Settings
    broker: RabbitBroker
    bus: Bus
    mongo: AsyncMongoClient[Document]


@dataclass
class Service:
    name: str
    router: APIRouter | None = None
    startup: list[Hook] = field(default_factory=list)
    shutdown: list[Hook] = field(default_factory=list)
    readiness: list[Readiness] = field(default_factory=list)
