"""The console's pages and modules are served with a Content-Security-Policy that forbids
framing and foreign or inline code, and with nosniff (issue 24, security)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from contactcenter import console


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    console.mount(app)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/console/", "/console/js/app.js", "/console/styles.css"])
def test_every_console_file_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_console_has_no_inline_script_the_policy_would_block() -> None:
    html = (console.STATIC_DIR / "index.html").read_text()
    assert "<script>" not in html and " onclick=" not in html and "style=" not in html
