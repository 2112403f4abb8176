"""Poison messages are dead-lettered after the delivery limit while traffic flows; a flood
of duplicate deliveries stores each message exactly once."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from shared.auth import issue_token
from shared.config import Settings
from shared.contracts import ContactInfo, Identity, InboundMessage
from tests.faults.bus_client import connected_bus, queue_depths
from tests.faults.harness import PlatformProcess
from tests.support import eventually


def _message(phone: str, n: int) -> InboundMessage:
    external = f"wamid.dup{uuid.uuid4().hex}"
    return InboundMessage(
        event_id=f"wa:106540352242922:{external}",
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id=f"+{phone}"),
        contact=ContactInfo(name="Cliente Duplicado"),
        external_message_id=external,
        message_type="text",
        text=f"hola, pregunta {n}",
    )


async def _customer_message_ids(client: httpx.AsyncClient, phone: str) -> list[str]:
    listing = await client.get("/api/conversations", params={"identity": f"whatsapp:+{phone}"})
    ids: list[str] = []
    for item in listing.json()["items"]:
        detail = await client.get(f"/api/conversations/{item['conversation_id']}")
        ids += [m["message_id"] for m in detail.json()["messages"] if m["author"] == "customer"]
    return ids


async def test_poison_message_is_dead_lettered_while_normal_traffic_flows(
    fault_settings: Settings,
):
    settings = fault_settings.model_copy(update={"delivery_limit": 3})
    platform = PlatformProcess(settings, "up")
    platform.start()
    try:
        phone = f"549{random.randint(10**9, 10**10 - 1)}"
        good = [_message(phone, n) for n in range(20)]
        async with connected_bus(settings) as bus:
            await bus.broker.publish(
                b'{"kind": "message", "channel": "whatsapp", "this is": "not an event"',
                exchange=bus.exchange,
                routing_key="inbound.whatsapp.message",
                persist=True,
                message_id="poison-1",
            )
            for message in good:
                await bus.publish(message)

        async def dead_lettered() -> bool:
            depths = await queue_depths(settings)
            return depths["routing.dlq"] >= 1 and depths["customers.dlq"] >= 1

        await eventually(dead_lettered, timeout=120, interval=0.5)
        auth = {"Authorization": f"Bearer {issue_token(settings, 'auditor', 'staff')}"}
        async with httpx.AsyncClient(base_url=platform.base_url, headers=auth) as client:

            async def all_good_stored() -> list[str] | None:
                ids = await _customer_message_ids(client, phone)
                return ids if len(ids) >= len(good) else None

            ids = await eventually(all_good_stored, timeout=120)
        assert sorted(ids) == sorted(m.event_id for m in good)
        depths = await queue_depths(settings)
        assert depths["routing.dlq"] == 1
        assert depths["customers.dlq"] == 1
    finally:
        platform.stop()


async def test_ten_thousand_duplicate_deliveries_store_one_thousand_messages(
    fault_settings: Settings,
):
    platform = PlatformProcess(fault_settings, "up")
    platform.start()
    try:
        phones = [f"549{random.randint(10**9, 10**10 - 1)}" for _ in range(100)]
        originals = [_message(p, n) for p in phones for n in range(10)]
        async with connected_bus(fault_settings) as bus:
            # Eight copies of every message concurrently, then two more after a delay, as a
            # channel retrying a webhook hours later would.
            for _ in range(8):
                await asyncio.gather(*(bus.publish(m) for m in originals))
            await asyncio.sleep(2)
            for _ in range(2):
                await asyncio.gather(*(bus.publish(m) for m in originals))

        async def drained() -> bool:
            depths = await queue_depths(fault_settings)
            return all(n == 0 for q, n in depths.items() if not q.startswith("connector."))

        await eventually(drained, timeout=900, interval=2.0)
        auth = {"Authorization": f"Bearer {issue_token(fault_settings, 'auditor', 'staff')}"}
        stored: list[str] = []
        async with httpx.AsyncClient(
            base_url=platform.base_url, headers=auth, timeout=30
        ) as client:
            for phone in phones:
                stored += await _customer_message_ids(client, phone)
        assert len(stored) == 1000
        assert sorted(stored) == sorted(m.event_id for m in originals)
    finally:
        platform.stop()
