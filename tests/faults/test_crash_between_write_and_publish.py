"""A staff action's process killed between its state write and publishing its event: the
event was staged in the same document write, so the next process's relay publishes it."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from shared.config import Settings
from tests.brokers import scaled
from tests.faults.harness import PlatformProcess, random_phone, staff_headers, whatsapp_text
from tests.support import eventually


class CrashingPlatform(PlatformProcess):
    """The platform with a crash point armed (shared/failpoints.py)."""

    def __init__(self, settings: Settings, failpoint: str) -> None:
        super().__init__(settings, "up")
        self.failpoint = failpoint

    def env(self) -> dict[str, str]:
        return {**super().env(), "CC_FAILPOINT": self.failpoint}


async def test_a_take_whose_process_dies_before_publishing_is_still_announced(
    fault_settings: Settings,
):
    settings = fault_settings
    phone = random_phone()
    auth = staff_headers(settings)
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    conversations = mongo[settings.db_name("routing")]["conversations"]

    crashing = CrashingPlatform(settings, "routing.staff.after_write")
    crashing.start()  # declares the topology
    survivor = PlatformProcess(settings, "up")
    connection = await aio_pika.connect_robust(settings.amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(f"{settings.bus_namespace}.contact.events")
    probe = await channel.declare_queue(exclusive=True, auto_delete=True)
    await probe.bind(exchange, routing_key="conversation.taken")
    try:
        async with httpx.AsyncClient(base_url=crashing.base_url, timeout=30) as client:
            raw, headers = whatsapp_text(
                settings.whatsapp_app_secret, phone, f"wamid.crash{random_phone()}", "hola"
            )
            assert (
                await client.post("/webhooks/whatsapp", content=raw, headers=headers)
            ).is_success

            async def opened() -> str | None:
                doc = await conversations.find_one({"identity_key": f"whatsapp:+{phone}"})
                return doc["_id"] if doc else None

            cid = await eventually(opened, timeout=scaled(30))
            # The process dies in the middle of answering: that is the point.
            with contextlib.suppress(httpx.HTTPError):
                await client.post(f"/api/conversations/{cid}/take", headers=auth)
        await asyncio.to_thread(crashing.process.wait, scaled(30))  # type: ignore[union-attr]
        assert crashing.process is not None and crashing.process.returncode == 137

        # The state change is written, and its event waits inside the same document.
        doc = await conversations.find_one({"_id": cid})
        assert doc is not None and doc["holder"] == "staff:auditor" and doc["outbox_pending"]
        assert await probe.get(no_ack=True, fail=False) is None  # nothing was published

        survivor.start()  # its relay carries out what the crash left staged

        async def announced() -> dict | None:
            message = await probe.get(no_ack=True, fail=False)
            return json.loads(message.body) if message else None

        event = await eventually(announced, timeout=scaled(60))
        assert event["conversation"]["conversation_id"] == cid
        assert event["conversation"]["holder"] == "staff:auditor"
        async with httpx.AsyncClient(base_url=survivor.base_url, timeout=30) as client:
            trail = (await client.get(f"/api/conversations/{cid}/events", headers=auth)).json()
        assert [e["action"] for e in trail].count("taken") == 1
        doc = await conversations.find_one({"_id": cid})
        assert doc is not None and not doc.get("outbox_pending") and doc["outbox"] == []
    finally:
        crashing.kill()
        survivor.stop()
        await connection.close()
        await mongo.close()
