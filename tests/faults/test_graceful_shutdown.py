"""Stopping a service (SIGTERM) lets in-flight handlers finish: it exits cleanly and nothing
is lost; what it had not started waits in the queue for the next process."""

from __future__ import annotations

import httpx

from shared.config import Settings
from tests.brokers import scaled
from tests.faults.bus_client import connected_bus
from tests.faults.harness import PlatformProcess, inbound_text, random_phone, staff_headers
from tests.support import eventually


async def test_sigterm_drains_in_flight_messages_and_loses_none(fault_settings: Settings):
    phones = [random_phone() for _ in range(20)]
    messages = [inbound_text(p, f"consulta {n}", "stop") for n in range(15) for p in phones]
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

    async def some_stored() -> bool:
        return len(await stored(first.base_url)) >= len(messages) // 10

    await eventually(some_stored, timeout=scaled(120), interval=0.2)
    first.stop(timeout=30)
    assert first.process is not None
    log = first.log_path.read_text()
    # uvicorn re-raises the signal once its graceful shutdown is done: -SIGTERM is a clean exit.
    assert first.process.returncode in (0, -15), log[-3000:]
    assert '"event": "stopped"' in log, "the lifespan never finished its shutdown"
    assert "CancelledError" not in log

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
