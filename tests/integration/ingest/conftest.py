"""A probe queue on the platform's exchange: what ingest really published, read back."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from tests.queues import settle
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import wa_text


class Probe:
    """Every message published while the probe is bound (`inbound.#` unless other routing-key
    patterns are given), in arrival order."""

    def __init__(self, platform: Platform, patterns: tuple[str, ...] = ("inbound.#",)) -> None:
        self.platform = platform
        self.patterns = patterns
        self.messages: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []  # exactly the bytes the broker delivered
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.platform.settings.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(self.platform.ctx.bus.exchange.name)
        queue = await channel.declare_queue(
            f"probe.ingest.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        for pattern in self.patterns:
            await queue.bind(exchange, routing_key=pattern)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.bodies.append(message.body)
                body = json.loads(message.body)
                body["_routing_key"] = message.routing_key
                self.messages.append(body)

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def with_id(self, event_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["event_id"] == event_id]

    def with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["event_id"].startswith(prefix)]

    async def settle(self) -> None:
        """Everything ingest owes the bus so far has reached the probe.

        Webhooks over HTTP have published (confirmed) before they answered; raw webhooks are
        handled concurrently from `ingest.raw`, so first wait until that queue has nothing
        ready or unacknowledged. Then a sentinel through ingest, waited for, proves that
        everything confirmed before it has reached the probe."""
        await settle(self.platform.settings, "ingest.raw")
        sentinel = f"wamid.sentinel-{uuid.uuid4().hex}"
        raw = meta_body(wa_text("sentinel", wamid=sentinel))
        response = await self.platform.http.post(
            "/webhooks/whatsapp",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(
                    self.platform.settings.whatsapp_app_secret, raw
                ),
            },
        )
        assert response.status_code == 200, response.text

        async def arrived() -> bool:
            return any(m["event_id"].endswith(f":{sentinel}") for m in self.messages)

        await eventually(arrived, timeout=15)


@pytest.fixture
async def probe(platform: Platform) -> AsyncIterator[Probe]:
    probe = Probe(platform)
    await probe.start()
    yield probe
    await probe.stop()
