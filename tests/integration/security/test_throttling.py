"""Issue 16.13: a client that keeps presenting bad credentials (staff JWT, portal token, web
chatbot token, Meta verify token, webhook signature) gets 429, counted in a metric without
ids in its labels.

A platform of its own (ingest and tickets, its own namespace) with a limit of 3 failures per
minute; each test speaks from its own client address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.support import Platform, meta_body, meta_signature

LIMIT = 3


@pytest.fixture(scope="module")
async def guarded(settings: Settings) -> AsyncIterator[Platform]:
    ns = f"s{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={
            "bus_namespace": ns,
            "mongo_db_prefix": f"{ns}_",
            "auth_failure_limit": LIMIT,
            "auth_failure_window_seconds": 60.0,
        }
    )
    plat = Platform(own, names=("ingest", "tickets"))
    await plat.start()
    yield plat
    await plat.stop()
    await _delete_namespace(own)


def client_from(platform: Platform) -> httpx.AsyncClient:
    """A client with an address of its own (IPv6 documentation prefix), as a server sees it."""
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    transport = httpx.ASGITransport(app=platform.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def failures(credential: str) -> float:
    return REGISTRY.get_sample_value("cc_auth_failures_total", {"credential": credential}) or 0.0


async def test_repeated_bad_jwts_get_429_and_are_counted(guarded: Platform):
    before = failures("staff_jwt")
    async with client_from(guarded) as client:
        bad = {"Authorization": "Bearer forged.token.here"}
        codes = [(await client.get("/api/services", headers=bad)).status_code for _ in range(5)]
        assert codes == [401] * LIMIT + [429, 429]
        last = await client.get("/api/services", headers=bad)
        assert int(last.headers["retry-after"]) > 0
        # A valid JWT still gets in: it cannot be guessed, and an office shares one address.
        ok = await client.get("/api/services", headers=guarded.auth("ana", "staff"))
        assert ok.status_code == 200
    assert failures("staff_jwt") - before == LIMIT
    async with client_from(guarded) as elsewhere:
        bad = {"Authorization": "Bearer forged.token.here"}
        assert (await elsewhere.get("/api/services", headers=bad)).status_code == 401


async def test_repeated_bad_portal_tokens_block_even_the_right_one(guarded: Platform):
    form = {"name": "X Y", "document_number": "30.555.777", "email": "x@example.com",
            "subject": "s", "text": "t"}  # fmt: skip
    async with client_from(guarded) as client:
        for _ in range(LIMIT):
            guess = {"Authorization": f"Bearer guess-{uuid.uuid4().hex}"}
            assert (
                await client.post("/api/consultations", json=form, headers=guess)
            ).status_code == 401
        right = {"Authorization": f"Bearer {guarded.settings.portal_token}"}
        assert (
            await client.post("/api/consultations", json=form, headers=right)
        ).status_code == 429


async def test_repeated_bad_verify_tokens_get_429(guarded: Platform):
    async with client_from(guarded) as client:
        params = {"hub.mode": "subscribe", "hub.challenge": "123", "hub.verify_token": "guess"}
        codes = [
            (await client.get("/webhooks/whatsapp", params=params)).status_code for _ in range(4)
        ]
        assert codes == [403] * LIMIT + [429]
        params["hub.verify_token"] = guarded.settings.whatsapp_verify_token
        assert (await client.get("/webhooks/whatsapp", params=params)).status_code == 429
    assert failures("verify_token") >= LIMIT


async def test_repeated_bad_webchat_tokens_and_signatures_get_429(guarded: Platform):
    async with client_from(guarded) as client:
        bad = {"Authorization": "Bearer guess"}
        codes = [
            (await client.post("/webhooks/webchat", json={}, headers=bad)).status_code
            for _ in range(4)
        ]
        assert codes == [401] * LIMIT + [429]
    async with client_from(guarded) as client:
        body = meta_body({"object": "whatsapp_business_account", "entry": []})
        forged = {"X-Hub-Signature-256": meta_signature("wrong-secret", body)}
        codes = [
            (await client.post("/webhooks/whatsapp", content=body, headers=forged)).status_code
            for _ in range(4)
        ]
        assert codes == [401] * LIMIT + [429]


async def test_the_failure_metric_has_no_ids_in_its_labels():
    metric = next(m for m in REGISTRY.collect() if m.name == "cc_auth_failures")
    assert {tuple(s.labels) for s in metric.samples} <= {("credential",)}
    values = {s.labels["credential"] for s in metric.samples}
    assert values <= {
        *("staff_jwt", "portal_token", "webchat_token", "verify_token", "signature"),
        *("password", "session"),  # console sign-in (shared/access)
    }
