"""Test-side tools: the in-process platform over real HTTP (ASGI) and the channels' signers.

The signers compute what Meta and Twilio compute on their side; the platform verifies them
with its own code, so a test that passes here proves the verification, not a mock of it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from contactcenter.platform import SERVICE_NAMES, build_app
from shared.auth import Role, User, issue_token
from shared.config import Settings
from shared.mongo import Document

T = TypeVar("T")


class Platform:
    def __init__(self, settings: Settings, names: tuple[str, ...] = SERVICE_NAMES) -> None:
        self.settings = settings
        self.app: FastAPI = build_app(settings, names)
        self._lifespan: AbstractAsyncContextManager[Any] | None = None
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver", timeout=30
        )

    async def start(self) -> None:
        lifespan: AbstractAsyncContextManager[Any] = self.app.router.lifespan_context(self.app)
        self._lifespan = lifespan
        await lifespan.__aenter__()

    async def stop(self) -> None:
        await self.http.aclose()
        if self._lifespan is not None:
            await self._lifespan.__aexit__(None, None, None)

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    def db(self, service: str) -> AsyncDatabase[Document]:
        return self.ctx.mongo.get_database(self.settings.db_name(service))

    def auth(self, user: str = "ana", role: Role = "staff") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.settings, user, role)}"}

    async def person(
        self, user: str, role: Role = "agent", name: str | None = None, password: str | None = None
    ) -> str:
        """Make `user` an active directory user with `role` (whom conversations may be
        assigned to), as an admin would; returns the password they were created with."""
        access = self.app.state.access
        found = await access.directory.person(user)
        secret = password or f"clave-de-{user}-segura"
        if found is None:
            await access.create_user("admin:tests", user, name or user.title(), role, secret)
        elif found.role != role or not found.active:
            # Ends their sessions and tokens, as it does for an admin: tests that need this
            # use their own user ids.
            admin = User(id="tests", role="admin")
            await access.update_user(admin, user, role=role, active=True)
        return secret


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; the last value or a TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def meta_body(payload: dict[str, Any]) -> bytes:
    """Serialize as Meta does: compact, non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def twilio_signature(token: str, url: str, params: dict[str, str] | list[tuple[str, str]]) -> str:
    items = params.items() if isinstance(params, dict) else params
    payload = url + "".join(k + v for k, v in sorted(items))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
