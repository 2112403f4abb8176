"""`contactcenter simulate` with secrets that differ from the platform's says which status
came back, on which channel, and which setting to check."""

from __future__ import annotations

import httpx
import pytest

from contactcenter.embedded_mongo import free_port
from contactcenter.simulate import explain_refusals, run_simulation, simulate
from tests.support import Platform


async def test_wrong_whatsapp_secret_and_auth_secret_are_named(platform: Platform) -> None:
    wrong = platform.settings.model_copy(
        update={
            "whatsapp_app_secret": "not-the-platforms",
            "auth_secret": "not-the-platforms-auth-secret-32b",
        }
    )
    tally = await simulate(
        wrong,
        "http://testserver",
        customers=8,
        seconds=1.0,
        seed=3,
        transport=httpx.ASGITransport(app=platform.app),
        progress=False,
    )
    lines = explain_refusals(tally, "http://testserver")
    [whatsapp] = [line for line in lines if line.startswith("whatsapp:")]
    assert "HTTP 401 (invalid_signature)" in whatsapp and "WHATSAPP_APP_SECRET" in whatsapp
    assert ".env" in whatsapp
    [staff] = [line for line in lines if line.startswith("staff:")]
    assert "HTTP 401 (invalid_token)" in staff and "AUTH_SECRET" in staff
    assert not [line for line in lines if line.startswith(("messenger:", "webchat:", "ivr:"))]


def test_no_platform_there_says_to_start_it(capsys: pytest.CaptureFixture[str]) -> None:
    from shared.config import Settings

    base_url = f"http://127.0.0.1:{free_port()}"
    assert run_simulation(Settings(_env_file=None), base_url, customers=4, seconds=0.3) == 1
    err = capsys.readouterr().err
    assert "channel requests were refused" in err
    assert f"never got an answer from {base_url}" in err and "make up" in err
