"""The platform over real HTTP (uvicorn on a free port), for what only a socket shows: when
the server answers relative to reading the body, and what its access log prints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn

from contactcenter.embedded_mongo import free_port
from tests.integration.customers.conftest import customer_events  # noqa: F401 (fixture)
from tests.support import Platform


class Served:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture
async def served(platform: Platform) -> AsyncIterator[Served]:
    """The session platform's app behind a real uvicorn server (its lifespan already ran)."""
    port = free_port()
    config = uvicorn.Config(
        platform.app, host="127.0.0.1", port=port, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Served("127.0.0.1", port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def raw_request(served: Served, head: str, body: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send `head` (and `body`, possibly shorter than its Content-Length) on a socket and
    return what the server answers within `timeout` seconds (TimeoutError if nothing)."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    finally:
        writer.close()
