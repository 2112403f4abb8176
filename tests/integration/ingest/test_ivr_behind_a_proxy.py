"""Twilio signs the public URL it called; behind a TLS-terminating proxy the server sees
another one. With IVR_PUBLIC_BASE_URL set, a real server (uvicorn in its own process, over a
real socket) verifies the signature against the public URL. ASGI-transport tests cannot
show this: their request URL is whatever the test says it is."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.faults.harness import PlatformProcess
from tests.support import twilio_signature
from tests.unit.ingest.payloads import twilio_call

PUBLIC = "https://cc.example.com"
PATH = "/webhooks/ivr?step=gather&menu=main"


@pytest.fixture
async def ingest_behind_proxy(settings: Settings) -> AsyncIterator[PlatformProcess]:
    ns = f"p{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={
            "bus_namespace": ns,
            "mongo_db_prefix": f"{ns}_",
            "ivr_public_base_url": f"{PUBLIC}/",
        }
    )
    server = PlatformProcess(own, "run", "ingest")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        await _delete_namespace(own)


async def test_twilio_signature_over_the_public_url_is_accepted_over_a_real_socket(
    ingest_behind_proxy: PlatformProcess,
) -> None:
    server = ingest_behind_proxy
    token = server.settings.ivr_auth_token
    params = twilio_call(f"CA{uuid.uuid4().hex}", Digits="3", CallStatus="in-progress")
    body = urlencode(params).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        # As the proxy forwards it: plain HTTP to the server, the public host kept.
        signed_public = twilio_signature(token, f"{PUBLIC}{PATH}", params)
        for host in ("cc.example.com", f"127.0.0.1:{server.port}"):
            response = await client.post(
                PATH,
                content=body,
                headers={**form, "Host": host, "X-Twilio-Signature": signed_public},
            )
            assert response.status_code == 200, (host, response.text)
            assert response.headers["content-type"].startswith("application/xml")
            twiml = ET.fromstring(response.text)
            assert "internet en su hogar" in (twiml.findtext(".//Say") or "")  # the 3 submenu

        # Signed for another public URL (another path, host or query): refused.
        for url in (
            f"{PUBLIC}/otra{PATH}",
            f"https://otro.example.com{PATH}",
            f"{PUBLIC}/webhooks/ivr",
        ):
            forged = twilio_signature(token, url, params)
            response = await client.post(
                PATH, content=body, headers={**form, "X-Twilio-Signature": forged}
            )
            assert response.status_code == 401, url

        # The next step's action URL Twilio will call is the public one.
        incoming = twilio_call(f"CA{uuid.uuid4().hex}")
        url = f"{PUBLIC}/webhooks/ivr"
        response = await client.post(
            "/webhooks/ivr",
            content=urlencode(incoming).encode(),
            headers={**form, "X-Twilio-Signature": twilio_signature(token, url, incoming)},
        )
        assert response.status_code == 200, response.text
        gather = ET.fromstring(response.text).find("Gather")
        assert gather is not None and gather.get("action") == f"{PUBLIC}{PATH}"
