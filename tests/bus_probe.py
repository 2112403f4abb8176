"""A test's own queue on the platform's exchange: what producers really published, read back.

Bound before the producer acts, it sees every message routed by the given patterns from then
on, whatever the producer's internals (outbox, batching, relays) look like.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika

from shared.bus import EXCHANGE
from shared.config import Settings
from tests.brokers import scaled
from tests.support import eventually


class BusProbe:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def matching(self, **fields: Any) -> list[dict[str, Any]]:
        return [m for m in self.messages if all(m.get(k) == v for k, v in fields.items())]

    async def wait_for(self, timeout: float = 20.0, **fields: Any) -> list[dict[str, Any]]:
        """The messages whose top-level fields equal `fields`, once at least one arrived."""

        async def found() -> list[dict[str, Any]]:
            return self.matching(**fields)

        return await eventually(found, timeout=scaled(timeout))


@asynccontextmanager
async def bus_probe(settings: Settings, *patterns: str) -> AsyncIterator[BusProbe]:
    """An exclusive, auto-deleted queue bound to `patterns` on the namespace's exchange."""
    probe = BusProbe()
    connection = await aio_pika.connect_robust(settings.amqp_url)
    try:
        channel = await connection.channel()
        prefix = f"{settings.bus_namespace}." if settings.bus_namespace else ""
        exchange = await channel.get_exchange(f"{prefix}{EXCHANGE}")
        queue = await channel.declare_queue(
            f"probe.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        for pattern in patterns:
            await queue.bind(exchange, routing_key=pattern)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                body = json.loads(message.body)
                body["_routing_key"] = message.routing_key
                body["_message_id"] = message.message_id
                probe.messages.append(body)

        await queue.consume(on_message)
        yield probe
    finally:
        await connection.close()
