"""Stopping a service (SIGTERM) lets in-flight handlers finish: it exits cleanly and nothing
is lost; what it had not started waits in the queue for the next process."""

from __future__ import annotations

import asyncio

import aio_pika
import httpx

from shared.bus import Bus, make_broker
from shared.config import Settings
from tests.brokers import scaled
from tests.faults.bus_client import connected_bus
from tests.faults.harness import PlatformProcess, inbound_text, random_phone, staff_headers
from tests.support import eventually


async def test_sigterm_drains_in_flight_messages_and_loses_none(fault_settings: Settings):
    phones = [random_phone() for _ in range(20)]
    messages = [inbound_text(p, f"consulta {n}", "stop") for n in range(100) for p in phones]
    auth = staff_headers(fault_settings)

    async def stored(base_url: str) -> list[str]:
        ids: list[str] = []
        async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as client:
            listing = await client.get(
                "/api/conversations", params={"channel": "whatsapp", "page_size": 200}
            )
            for item in listing.json()["items"]:
                detail = await client.get(f"/api/conversations/{item['conversation_id']}")
                ids += [
                    m["message_id"] for m in detail.json()["messages"] if m["author"] == "customer"
                ]
        return ids

    first = PlatformProcess(fault_settings, "run", "routing")
    first.start()
    async with connected_bus(fault_settings) as bus:
        for message in messages:
            await bus.publish(message)

    async def under_way() -> bool:  # a few conversations listed: stop in the thick of it
        async with httpx.AsyncClient(base_url=first.base_url, headers=auth, timeout=30) as c:
            listing = await c.get("/api/conversations", params={"channel": "whatsapp"})
            return listing.status_code == 200 and len(listing.json()["items"]) >= 3

    await eventually(under_way, timeout=scaled(120), interval=0.1)
    first.stop(timeout=30)
    assert first.process is not None
    log = first.log_path.read_text()
    # uvicorn re-raises the signal once its graceful shutdown is done: -SIGTERM is a clean exit.
    assert first.process.returncode in (0, -15), log[-3000:]
    assert '"event": "stopped"' in log, "the lifespan never finished its shutdown"
    assert "CancelledError" not in log
    # What the broker had delivered to it was handled before it closed: nothing it held went
    # back to the queue (a message handed back unhandled comes out flagged `redelivered`).
    _, redelivered = await _waiting_in_routing(fault_settings)
    assert redelivered == 0

    second = PlatformProcess(fault_settings, "run", "routing")
    second.start()
    try:

        async def everything_stored() -> list[str] | None:
            ids = await stored(second.base_url)
            return ids if len(ids) >= len(messages) else None

        ids = await eventually(everything_stored, timeout=scaled(300), interval=1.0)
        assert sorted(ids) == sorted(m.event_id for m in messages)
    finally:
        second.stop()


async def _waiting_in_routing(settings: Settings) -> tuple[int, int]:
    """How many messages wait in routing's inbound queue, and how many of them were delivered
    before and handed back. They are looked at unacknowledged (the queue is single-active-
    consumer: by a consumer, not basic.get) and go back for the next process on close."""
    connection = await aio_pika.connect(settings.amqp_url.split(",")[0])
    try:
        channel = await connection.channel()
        name = Bus(settings, make_broker(settings)).queue_name("routing", "inbound")
        queue = await channel.get_queue(name, ensure=False)
        waiting = (await queue.declare()).message_count or 0
        if waiting == 0:
            return 0, 0
        await channel.set_qos(prefetch_count=waiting)
        seen: list[bool] = []
        got_all = asyncio.Event()

        async def look(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            seen.append(bool(message.redelivered))
            if len(seen) >= waiting:
                got_all.set()

        await queue.consume(look, no_ack=False)
        await asyncio.wait_for(got_all.wait(), timeout=30)
        await channel.close()
        return waiting, sum(seen)
    finally:
        await connection.close()
