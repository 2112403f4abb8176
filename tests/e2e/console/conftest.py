"""The console end to end: the in-process platform behind a real uvicorn socket, and
Debian's headless Chromium driven by Playwright (never a downloaded browser).

The console's platform runs under its own namespace (queues and databases), so its
activity stream holds only what these tests create, whatever else the session did.

Skips (with its reason in the run's summary) only when this machine has no Chromium at all;
with CI=true that is a failure (`.ci/run` installs Debian's `chromium`). Playwright for
Python is a dev dependency: missing, it is an import error, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import async_playwright

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.support import Platform
from tests.tools import require_tool

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}


def _chromium() -> str:
    # Missing: skipped on a developer's machine, a failure in CI (tests/tools.py).
    return CHROMIUM if Path(CHROMIUM).exists() else require_tool("chromium")


@pytest.fixture(scope="session")
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    """Overrides the session's platform for the console tests: same services, own namespace."""
    namespace = f"c{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={"bus_namespace": namespace, "mongo_db_prefix": f"{namespace}_"}
    )
    platform = Platform(own)
    await platform.start()
    yield platform
    await platform.stop()
    await _delete_namespace(own)


@pytest.fixture(scope="session")
async def console_url(platform: Platform) -> AsyncIterator[str]:
    """The console's platform served over a real socket (its lifespan is already running)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        platform.app, lifespan="off", log_config=None, timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}"
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    executable = _chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
