"""Issue 16.12: access logs print neither the Meta verify token nor staff search terms."""

from __future__ import annotations

import logging

import httpx
import pytest

from shared.logging import redact_query
from tests.integration.security.conftest import Served
from tests.support import Platform


async def test_access_log_redacts_verify_token_and_search_terms(
    served: Served, platform: Platform, caplog: pytest.LogCaptureFixture
):
    token = platform.settings.whatsapp_verify_token
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        async with httpx.AsyncClient(base_url=served.base_url) as client:
            handshake = await client.get(
                "/webhooks/whatsapp",
                params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"},
            )
            assert handshake.status_code == 200
            search = await client.get(
                "/api/customers",
                params={"q": "Zoraida 30.123.456", "limit": 5},
                headers=platform.auth(),
            )
            assert search.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/webhooks/whatsapp?" in line for line in lines), lines
    assert any("/api/customers?" in line and "limit=5" in line for line in lines), lines
    joined = "\n".join(lines)
    for secret in (token, "Zoraida", "30.123.456", "30.123"):
        assert secret not in joined


def test_only_paging_and_filter_values_survive():
    assert (
        redact_query("/api/tables/chats?q=Juan%20P%C3%A9rez&estado=todos&page=2")
        == "/api/tables/chats?q=[redacted]&estado=todos&page=2"
    )
    assert redact_query("/webhooks/messenger?hub.verify_token=s3cret&hub.mode=subscribe") == (
        "/webhooks/messenger?hub.verify_token=[redacted]&hub.mode=subscribe"
    )
    assert redact_query("/api/stream") == "/api/stream"
