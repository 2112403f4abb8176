"""When the broker cannot confirm, the webhook answers 503 so that Meta retries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.config import Settings
from tests.integration.ingest.conftest import Probe
from tests.support import Platform, meta_body, meta_signature
from tests.unit.ingest.payloads import uid, wa_text


@pytest.fixture
async def ingest_alone(settings: Settings) -> AsyncIterator[Platform]:
    """A second process-like platform running only ingest, with its own broker connection."""
    plat = Platform(settings, names=("ingest",))
    await plat.start()
    try:
        yield plat
    finally:
        await plat.stop()


async def test_broker_down_gives_503_and_the_retry_publishes_once(
    ingest_alone: Platform, platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    raw = meta_body(wa_text("¿hay alguien?", wamid=wamid))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(ingest_alone.settings.whatsapp_app_secret, raw),
    }
    # This process loses its broker: its connection is gone and the broker refuses new ones.
    bus = ingest_alone.ctx.bus
    bus.settings = bus.settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"})
    await bus.close()

    response = await ingest_alone.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.status_code == 503
    assert response.headers["retry-after"]

    # Meta retries (here: to a healthy process); the event was not recorded, so it goes out.
    retry = await platform.http.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert retry.json() == {"received": 1, "duplicates": 0}
    await probe.settle()
    assert len(probe.with_id(f"wa:106540352242922:{wamid}")) == 1
