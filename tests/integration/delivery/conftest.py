"""The whole platform with provider credentials, pointed at local protocol peers: a Graph
API stand-in (real HTTP) and an SMTP server (aiosmtpd). Its own bus namespace and database
prefix, so the session's credential-less platform never competes for its queues."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.fixtures.graph.smtp import SmtpServer
from tests.fixtures.graph.standin import GraphStandIn
from tests.support import Platform, eventually

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
WA_TOKEN = "EAAG-test-whatsapp-token"
PAGE_TOKEN = "EAAG-test-page-token"
TEMPLATE = "respuesta_soporte"


@pytest.fixture(scope="session")
async def graph() -> AsyncIterator[GraphStandIn]:
    standin = GraphStandIn(
        version=VERSION,
        phone_number_id=PHONE_NUMBER_ID,
        whatsapp_token=WA_TOKEN,
        page_token=PAGE_TOKEN,
    )
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def sending(
    settings: Settings, graph: GraphStandIn, smtp: SmtpServer
) -> AsyncIterator[Platform]:
    namespace = f"d{uuid.uuid4().hex[:10]}"
    ours = settings.model_copy(
        update={
            "bus_namespace": namespace,
            "mongo_db_prefix": f"{namespace}_",
            "whatsapp_access_token": WA_TOKEN,
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "messenger_page_access_token": PAGE_TOKEN,
            "graph_api_base_url": graph.base_url,
            "graph_api_version": VERSION,
            "graph_api_timeout_seconds": 1.0,
            "whatsapp_template_name": TEMPLATE,
            "whatsapp_throughput_tier": 80,
            # The pacing tests run deliveries of their own with the pair rate limit; here a
            # customer's replies go nearly back to back, as the other tests expect.
            "whatsapp_pair_interval_seconds": 0.05,
            "delivery_retry_attempts": 3,
            "delivery_retry_base_seconds": 0.05,
            "delivery_retry_max_seconds": 0.4,
            "delivery_retry_inline_max_seconds": 1.5,
            "delivery_sweep_seconds": 0.2,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "smtp_from": "Soporte ToWebs <soporte@towebs.example>",
        }
    )
    platform = Platform(ours)
    await platform.start()
    yield platform
    await platform.stop()
    await _delete_namespace(ours)


class Outcomes:
    """Every delivery outcome published (`inbound.*.status`, `consultation_reply.*`)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.events: list[dict[str, Any]] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.platform.settings.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(self.platform.ctx.bus.exchange.name)
        queue = await channel.declare_queue(
            f"probe.delivery.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        for pattern in ("inbound.*.status", "consultation_reply.*"):
            await queue.bind(exchange, routing_key=pattern)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))

        await queue.consume(on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def of(self, message_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("message_id") == message_id]

    async def wait_for(self, message_id: str, timeout: float = 15) -> dict[str, Any]:
        async def arrived() -> dict[str, Any] | None:
            found = self.of(message_id)
            return found[0] if found else None

        return await eventually(arrived, timeout=timeout)


@pytest.fixture
async def outcomes(sending: Platform) -> AsyncIterator[Outcomes]:
    probe = Outcomes(sending)
    await probe.start()
    yield probe
    await probe.stop()
