"""Poison messages are dead-lettered after the delivery limit while traffic flows; a flood
of duplicate deliveries stores each message exactly once."""

from __future__ import annotations

import asyncio
import functools

import httpx

from shared.config import Settings
from tests.brokers import RabbitNode, scaled
from tests.faults.bus_client import connected_bus, drained, queue_depths
from tests.faults.harness import (
    PlatformProcess,
    customer_message_ids,
    inbound_text,
    random_phone,
    staff_headers,
)
from tests.support import eventually


async def test_poison_message_is_dead_lettered_while_normal_traffic_flows(
    fault_settings: Settings, fault_broker: RabbitNode
):
    settings = fault_settings.model_copy(update={"delivery_limit": 3})
    platform = PlatformProcess(settings, "up")
    platform.start()
    try:
        phone = random_phone()
        good = [inbound_text(phone, f"hola, pregunta {n}", "poison") for n in range(20)]
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
            depths = await queue_depths(settings, fault_broker)
            return depths["routing.dlq"] >= 1 and depths["customers.dlq"] >= 1

        await eventually(dead_lettered, scaled(120), interval=1.0)
        auth = staff_headers(settings)
        async with httpx.AsyncClient(base_url=platform.base_url, headers=auth) as client:

            async def all_good_stored() -> list[str] | None:
                ids = await customer_message_ids(client, phone)
                return ids if len(ids) >= len(good) else None

            ids = await eventually(all_good_stored, scaled(120))
        assert sorted(ids) == sorted(m.event_id for m in good)
        depths = await queue_depths(settings, fault_broker)
        assert depths["routing.dlq"] == 1
        assert depths["customers.dlq"] == 1
    finally:
        platform.stop()


async def test_ten_thousand_duplicate_deliveries_store_one_thousand_messages(
    fault_settings: Settings, fault_broker: RabbitNode
):
    platform = PlatformProcess(fault_settings, "up")
    platform.start()
    try:
        phones = [random_phone() for _ in range(100)]
        originals = [
            inbound_text(p, f"hola, pregunta {n}", "dup") for p in phones for n in range(10)
        ]
        async with connected_bus(fault_settings) as bus:
            # Eight copies of every message concurrently, then two more after a delay, as a
            # channel retrying a webhook hours later would.
            for _ in range(8):
                await asyncio.gather(*(bus.publish(m) for m in originals))
            await asyncio.sleep(2)
            for _ in range(2):
                await asyncio.gather(*(bus.publish(m) for m in originals))

        await eventually(
            functools.partial(drained, fault_settings, fault_broker), scaled(900), interval=2.0
        )
        auth = staff_headers(fault_settings)
        stored: list[str] = []
        async with httpx.AsyncClient(
            base_url=platform.base_url, headers=auth, timeout=30
        ) as client:
            for phone in phones:
                stored += await customer_message_ids(client, phone)
        assert len(stored) == 1000
        assert sorted(stored) == sorted(m.event_id for m in originals)
    finally:
        platform.stop()
