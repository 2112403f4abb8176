"""Ingest's delivery edge cases: a claim left by a process that died mid-publish is taken
over; a publish no queue takes raises, and the webhook answers 503 until it can publish."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aio_pika
import pytest

from shared.bus import Bus, make_broker
from shared.config import Settings
from shared.contracts import ContactInfo, Identity, InboundMessage
from shared.contracts.base import utcnow
from tests.conftest import _delete_namespace
from tests.integration.ingest.conftest import Probe
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import uid, wa_text

LINE = "106540352242922"


def signed(settings: Settings, payload: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    raw = meta_body(payload)
    return raw, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(settings.whatsapp_app_secret, raw),
    }


async def test_a_stale_claim_of_a_dead_process_is_taken_over_and_published_once(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    key = f"wa:{LINE}:{wamid}"
    dedupe = platform.db("ingest")["dedupe"]
    # What a process killed between claiming and publishing leaves: a pending claim, old.
    long_ago = utcnow() - timedelta(hours=1)
    await dedupe.insert_one(
        {
            "_id": key,
            "state": "pending",
            "channel": "whatsapp",
            "kind": "message",
            "claimed_at": long_ago,
            "recorded_at": long_ago,
        }
    )
    raw, headers = signed(platform.settings, wa_text("¿me atienden?", wamid=wamid))
    response = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "duplicates": 0}
    await probe.settle()
    assert len(probe.with_id(key)) == 1
    # Taken over: the claim is now this process's, and its heartbeat settles it.
    claim = await dedupe.find_one({"_id": key})
    assert claim is not None and claim["claimed_at"] > long_ago

    async def settled() -> bool:  # told by the owner's next heartbeat (not waited for)
        owners = platform.db("ingest")["dedupe_owners"]
        heartbeat = await owners.find_one({"_id": claim["owner"]})
        return heartbeat is not None and heartbeat["settled_before"] > claim["claimed_at"]

    await eventually(settled)

    again = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert again.json() == {"received": 1, "duplicates": 1}


async def _claimed_elsewhere(
    platform: Platform, key: str, claimed_at: datetime, alive_at: datetime, settled: datetime
) -> None:
    """A claim of another ingest process, and that process's last heartbeat."""
    owner = f"other-{uid()}"
    await platform.db("ingest")["dedupe"].insert_one(
        {
            "_id": key,
            "state": "pending",
            "owner": owner,
            "channel": "whatsapp",
            "kind": "message",
            "claimed_at": claimed_at,
            "recorded_at": claimed_at,
        }
    )
    await platform.db("ingest")["dedupe_owners"].insert_one(
        {"_id": owner, "alive_at": alive_at, "settled_before": settled}
    )


async def test_a_claim_another_live_process_settled_is_a_duplicate(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    key = f"wa:{LINE}:{wamid}"
    now = utcnow()
    await _claimed_elsewhere(platform, key, now - timedelta(minutes=1), now, now)
    raw, headers = signed(platform.settings, wa_text("ya lo publicó otro", wamid=wamid))
    response = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.json() == {"received": 1, "duplicates": 1}
    await probe.settle()
    assert probe.with_id(key) == []


async def test_a_claim_in_flight_when_its_process_died_is_published_once(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    key = f"wa:{LINE}:{wamid}"
    died = utcnow() - timedelta(hours=1)
    # Its last heartbeat: alive, and this claim (made just before) not settled yet.
    await _claimed_elsewhere(platform, key, died, died, died)
    raw, headers = signed(platform.settings, wa_text("¿llegó?", wamid=wamid))
    response = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.json() == {"received": 1, "duplicates": 0}
    again = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert again.json() == {"received": 1, "duplicates": 1}
    await probe.settle()
    assert len(probe.with_id(key)) == 1


@pytest.fixture
async def lonely_ingest(settings: Settings) -> AsyncIterator[Platform]:
    """Ingest alone in a namespace of its own: nobody else consumes its queues."""
    ns = f"u{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"})
    plat = Platform(own, names=("ingest",))
    await plat.start()
    try:
        yield plat
    finally:
        await plat.stop()
        await _delete_namespace(own)


async def _delete_queues(settings: Settings, *names: str) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(f"{settings.bus_namespace}.{name}")


async def _declare_topology(settings: Settings) -> None:
    """What a consuming service does when it starts: declare every queue and binding."""
    broker = make_broker(settings)
    await broker.connect()
    try:
        await Bus(settings, broker).declare_topology()
    finally:
        await broker.stop()


async def _ready(settings: Settings, name: str) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{settings.bus_namespace}.{name}", passive=True)
        return queue.declaration_result.message_count or 0


async def test_a_publish_no_queue_takes_raises(lonely_ingest: Platform) -> None:
    message = InboundMessage(
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id="+5491155550000"),
        contact=ContactInfo(name="Nadie"),
        external_message_id=f"wamid.{uid()}",
        message_type="text",
        text="nadie escucha",
    )
    with pytest.raises(Exception):  # FastStream's unroutable error has no public type
        await lonely_ingest.ctx.bus.publish(message, "nobody.listens.here")
    await lonely_ingest.ctx.bus.publish(message)  # the same event, routed, is confirmed
    assert await _ready(lonely_ingest.settings, "routing.inbound") == 1


async def test_webhook_answers_503_while_no_queue_takes_its_events_then_publishes_once(
    lonely_ingest: Platform,
) -> None:
    settings = lonely_ingest.settings
    await _delete_queues(settings, "routing.inbound", "customers.inbound")
    wamid = f"wamid.{uid()}"
    raw, headers = signed(settings, wa_text("¿hay alguien?", wamid=wamid))

    refused = await lonely_ingest.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]

    await _declare_topology(settings)  # the consumers' queues are back
    accepted = await lonely_ingest.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert accepted.json() == {"received": 1, "duplicates": 0}
    # Nobody consumes in this namespace: exactly the one message waits in each queue.
    assert await _ready(settings, "routing.inbound") == 1
    assert await _ready(settings, "customers.inbound") == 1
