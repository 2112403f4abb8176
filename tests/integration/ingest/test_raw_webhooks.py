"""`ingest.raw`: connectors hand raw webhooks over AMQP; same verification, same dedupe."""

from __future__ import annotations

import json
from typing import Any

import aio_pika

from shared.contracts.raw import RawWebhook
from tests.integration.ingest.conftest import Probe
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import uid, wa_text


async def send_raw(platform: Platform, message: RawWebhook) -> None:
    await platform.ctx.broker.publish(
        message.model_dump_json(),
        exchange=platform.ctx.bus.exchange,
        routing_key="ingest.raw",
        persist=True,
        content_type="application/json",
    )


async def test_raw_whatsapp_webhook_over_amqp_is_published_once(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    raw = meta_body(wa_text("desde el conector", wamid=wamid))
    message = RawWebhook(
        channel="whatsapp",
        body=raw.decode(),
        headers={"X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw)},
    )
    await send_raw(platform, message)
    await send_raw(platform, message)
    event_id = f"wa:106540352242922:{wamid}"

    async def arrived() -> list[dict[str, Any]]:
        return probe.with_id(event_id)

    await eventually(arrived, timeout=15)
    await probe.settle()
    # Two raw deliveries, consumed in order from one queue: the second one is a duplicate.
    assert len(probe.with_id(event_id)) == 1


async def test_raw_webhook_with_bad_signature_is_dead_lettered_and_publishes_nothing(
    platform: Platform, probe: Probe
) -> None:
    tag = uid()
    raw = meta_body(wa_text("forjado", wamid=f"wamid.{tag}"))
    message = RawWebhook(
        channel="whatsapp", body=raw.decode(), headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    await send_raw(platform, message)
    connection = await aio_pika.connect(platform.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(
            platform.ctx.bus.dead_letter_queue("ingest").name, passive=True
        )

        async def dead_lettered() -> bool:
            while (incoming := await dlq.get(fail=False)) is not None:
                body = json.loads(incoming.body)
                if tag in body.get("body", ""):
                    await incoming.ack()
                    return True
                await incoming.nack(requeue=True)
                return False
            return False

        assert await eventually(dead_lettered, timeout=30, interval=0.2)
    await probe.settle()
    assert [m for m in probe.messages if tag in m["event_id"]] == []
