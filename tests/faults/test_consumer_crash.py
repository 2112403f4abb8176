"""A routing process killed mid-stream: its unacknowledged messages are redelivered to the
next one, and no side effect happens twice."""

from __future__ import annotations

import asyncio
import re

import httpx

from shared.config import Settings
from tests.brokers import scaled
from tests.faults.bus_client import connected_bus
from tests.faults.harness import PlatformProcess, inbound_text, random_phone, staff_headers
from tests.support import eventually

CUSTOMERS = 30
PER_CUSTOMER = 20


async def test_killed_consumer_redelivers_without_duplicating(fault_settings: Settings):
    settings = fault_settings.model_copy(update={"prefetch_count": 50})
    phones = [random_phone() for _ in range(CUSTOMERS)]
    messages = [
        inbound_text(p, f"consulta número {n}", "crash")
        for n in range(PER_CUSTOMER)
        for p in phones
    ]
    auth = staff_headers(settings)

    first = PlatformProcess(settings, "run", "routing")
    first.start()
    second = PlatformProcess(settings, "run", "routing")
    try:
        async with connected_bus(settings) as bus:
            await asyncio.gather(*(bus.publish(m) for m in messages))

        async def customer_messages(base_url: str) -> int:
            total = 0
            async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as client:
                listing = await client.get(
                    "/api/conversations", params={"channel": "whatsapp", "page_size": 200}
                )
                for item in listing.json()["items"]:
                    total += item["message_count"]
            return total

        # Kill while the stream is under way: some processed, many still queued or in flight.
        await eventually(
            lambda: _at_least(customer_messages(first.base_url), len(messages) // 10),
            timeout=scaled(120),
        )
        first.kill()

        second.start()

        async def all_stored() -> dict[str, list[str]] | None:
            stored: dict[str, list[str]] = {}
            async with httpx.AsyncClient(
                base_url=second.base_url, headers=auth, timeout=30
            ) as client:
                for phone in phones:
                    listing = await client.get(
                        "/api/conversations", params={"identity": f"whatsapp:+{phone}"}
                    )
                    items = listing.json()["items"]
                    if len(items) != 1:
                        return None
                    detail = await client.get(f"/api/conversations/{items[0]['conversation_id']}")
                    body = detail.json()
                    stored[phone] = [
                        m["message_id"] for m in body["messages"] if m["author"] == "customer"
                    ]
                    opened = [e for e in body["events"] if e["action"] == "opened"]
                    assert len(opened) == 1, "a conversation was opened twice"
                    if len(stored[phone]) < PER_CUSTOMER:
                        return None
            return stored

        stored = await eventually(all_stored, timeout=scaled(300), interval=1.0)
        for phone in phones:
            expected = sorted(m.event_id for m in messages if m.identity.external_id == f"+{phone}")
            assert sorted(stored[phone]) == expected

        metrics = httpx.get(f"{second.base_url}/metrics", timeout=10).text
        redelivered = sum(
            float(v)
            for v in re.findall(
                r'^cc_redelivered_messages_total\{family="inbound"\} ([0-9.e+]+)$',
                metrics,
                re.M,
            )
        )
        assert redelivered > 0, "the kill left nothing unacknowledged; the test proved nothing"
    finally:
        first.kill()
        second.stop()


async def _at_least(probe, threshold: int) -> bool:  # type: ignore[no-untyped-def]
    return (await probe) >= threshold
