"""First-response targets on a routing of its own (its own bus namespace and database, with
a WhatsApp target of half a second): the stream marks a conversation nobody answered in
time as "vencida", and the miss is counted once whatever happens after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.integration.routing.helpers import new_identity, open_conversation
from tests.support import Platform, eventually

TARGET = 0.5


def misses(channel: str = "whatsapp") -> float:
    sample = REGISTRY.get_sample_value(
        "cc_routing_first_response_missed_total", {"channel": channel}
    )
    return sample or 0.0


@pytest.fixture(scope="module")
async def routing(settings: Settings) -> AsyncIterator[Platform]:
    ns = f"f{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={
            "bus_namespace": ns,
            "mongo_db_prefix": f"{ns}_",
            "first_response_target_seconds": f"whatsapp={TARGET},messenger=3600",
        }
    )
    plat = Platform(own, names=("routing",))
    await plat.start()
    try:
        yield plat
    finally:
        await plat.stop()
        await _delete_namespace(own)


async def stream_item(platform: Platform, cid: str, channel: str) -> dict[str, Any]:
    response = await platform.http.get(
        "/api/stream", params={"channel": channel, "page_size": 200}, headers=platform.auth()
    )
    assert response.status_code == 200, response.text
    [item] = [i for i in response.json()["items"] if i["conversation_id"] == cid]
    return item


async def trail(platform: Platform, cid: str) -> list[dict[str, Any]]:
    response = await platform.http.get(f"/api/conversations/{cid}/events", headers=platform.auth())
    events: list[dict[str, Any]] = response.json()
    return events


async def test_a_conversation_nobody_answers_in_time_is_vencida_and_missed_once(
    routing: Platform,
):
    cid = await open_conversation(routing, new_identity("whatsapp"))
    item = await stream_item(routing, cid, "whatsapp")
    assert item["first_response"] is None  # with Lara: no clock yet
    before = misses()
    taken = await routing.http.post(f"/api/conversations/{cid}/take", headers=routing.auth())
    assert taken.status_code == 200
    due = taken.json()["conversation"]["first_response"]
    assert due["target_seconds"] == TARGET and due["answered_at"] is None

    async def vencida() -> dict[str, Any] | None:
        item = await stream_item(routing, cid, "whatsapp")
        return item if item["first_response_state"] == "vencida" else None

    await eventually(vencida)
    # Recorded by the sweep while the customer still waits, not when someone finally writes.
    await eventually(lambda: _true(misses() == before + 1))

    late = await routing.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Perdón la demora"},
        headers=routing.auth(),
    )
    assert late.status_code == 200, late.text
    answered = late.json()["conversation"]
    assert answered["first_response"]["missed"] is True
    assert answered["first_response"]["answered_at"] is not None
    assert answered["first_response_state"] is None  # answered: nothing to mark any more
    await routing.http.post(f"/api/conversations/{cid}/close", headers=routing.auth())
    await asyncio.sleep(3 * TARGET + 1.5)  # the sweep runs every second: it finds nothing
    assert misses() == before + 1
    changes = [e.get("change") for e in await trail(routing, cid)]
    assert changes.count("first_response_missed") == 1


async def test_a_timely_first_reply_is_not_a_miss(routing: Platform):
    """Messenger's target here is an hour: a take and a reply meet it."""
    cid = await open_conversation(routing, new_identity("messenger"))
    before = misses("messenger")
    await routing.http.post(f"/api/conversations/{cid}/take", headers=routing.auth())
    item = await stream_item(routing, cid, "messenger")
    assert item["first_response_state"] == "en_plazo"
    reply = await routing.http.post(
        f"/api/conversations/{cid}/messages", json={"text": "Hola"}, headers=routing.auth()
    )
    first = reply.json()["conversation"]["first_response"]
    assert first["missed"] is False and first["answered_at"] is not None
    assert misses("messenger") == before
    assert "first_response_missed" not in [e.get("change") for e in await trail(routing, cid)]


async def _true(value: bool) -> bool:
    return value
