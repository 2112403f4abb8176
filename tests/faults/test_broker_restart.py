"""RabbitMQ restarts while signed webhooks flow: nothing acknowledged is lost or doubled."""

from __future__ import annotations

import asyncio
import functools
import uuid

import httpx

from shared.config import Settings
from tests.brokers import RabbitNode, scaled
from tests.faults.bus_client import drained
from tests.faults.harness import (
    LINE,
    PlatformProcess,
    customer_message_ids,
    random_phone,
    staff_headers,
    whatsapp_text,
)
from tests.support import eventually

WEBHOOKS = 2000
CUSTOMERS = 50


async def _post_until_accepted(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], outcomes: dict[str, int]
) -> None:
    """Post like Meta does: retry until a 200, counting every 503 and refused connection."""
    delay = 0.1
    while True:
        try:
            response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
        except httpx.TransportError:
            outcomes["transport_errors"] += 1
        else:
            if response.status_code == 200:
                outcomes["accepted"] += 1
                return
            assert response.status_code == 503, response.text
            outcomes["unavailable"] += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def test_broker_restart_loses_and_duplicates_nothing(
    fault_settings: Settings, fault_broker: RabbitNode
):
    platform = PlatformProcess(fault_settings, "up")
    platform.start()
    try:
        phones = [random_phone() for _ in range(CUSTOMERS)]
        sent: dict[str, list[str]] = {phone: [] for phone in phones}
        outcomes = {"accepted": 0, "unavailable": 0, "transport_errors": 0}
        limiter = asyncio.Semaphore(16)

        async def deliver(i: int, client: httpx.AsyncClient) -> None:
            phone = phones[i % CUSTOMERS]
            message_id = f"wamid.fault{uuid.uuid4().hex}"
            sent[phone].append(f"wa:{LINE}:{message_id}")
            body, headers = whatsapp_text(
                fault_settings.whatsapp_app_secret, phone, message_id, f"mensaje {i}"
            )
            async with limiter:
                await _post_until_accepted(client, body, headers, outcomes)

        async def restart_broker_midstream() -> None:
            await eventually(
                lambda: asyncio.sleep(0, outcomes["accepted"] > WEBHOOKS // 4), scaled(120)
            )
            # The fault tests' own node (tests/brokers.py), never the shared one on 5672.
            await asyncio.to_thread(fault_broker.stop_app)
            try:
                await asyncio.sleep(2)
            finally:
                await asyncio.to_thread(fault_broker.start_app)

        async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
            await asyncio.gather(
                restart_broker_midstream(), *(deliver(i, client) for i in range(WEBHOOKS))
            )
        assert outcomes["accepted"] == WEBHOOKS
        assert outcomes["unavailable"] + outcomes["transport_errors"] > 0, (
            "the broker restart never reached the webhooks; the test proved nothing"
        )

        async with httpx.AsyncClient(
            base_url=platform.base_url, headers=staff_headers(fault_settings), timeout=30
        ) as client:

            async def stored_ids(phone: str) -> list[str] | None:
                ids = await customer_message_ids(client, phone)
                return ids if len(ids) >= len(sent[phone]) else None

            for phone in phones:
                ids = await eventually(functools.partial(stored_ids, phone), scaled(180))
                assert sorted(ids) == sorted(sent[phone]), "a message was lost or stored twice"

        await eventually(
            functools.partial(drained, fault_settings, fault_broker), scaled(120), interval=1.0
        )
    finally:
        platform.stop()
