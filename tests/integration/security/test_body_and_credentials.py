"""Issue 16.1: credentials are checked before a staff request's body is read, and staff API
bodies are capped (MAX_API_BODY_BYTES) however their size is announced."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message

from shared.http_guard import HttpGuard
from shared.throttle import FailureThrottle
from tests.integration.security.conftest import Served, raw_request
from tests.support import Platform

THIRTY_MB = 30 * 1024 * 1024


async def test_anonymous_huge_body_is_refused_before_the_body_is_sent(served: Served):
    """The server answers 401 while the client has sent only the headers: nothing of the
    30 MB announced is ever read (before the fix the server waited for the whole body)."""
    head = (
        "POST /api/customers/c1/comments HTTP/1.1\n"
        f"Host: {served.host}\n"
        "Content-Type: application/json\n"
        f"Content-Length: {THIRTY_MB}\n"
    )
    answer = await raw_request(served, head, b'{"text": "')
    assert answer.startswith(b"HTTP/1.1 401"), answer


async def test_authenticated_body_announced_over_the_cap_is_413_before_it_is_sent(
    served: Served, platform: Platform
):
    head = (
        "PATCH /api/customers/c1 HTTP/1.1\n"
        f"Host: {served.host}\n"
        f"Authorization: {platform.auth('ana', 'staff')['Authorization']}\n"
        "Content-Type: application/json\n"
        f"Content-Length: {THIRTY_MB}\n"
    )
    answer = await raw_request(served, head, b"{")
    assert answer.startswith(b"HTTP/1.1 413"), answer


class Upload:
    """The server side of an upload: hands the app `chunks` one by one and counts how many
    bytes the app pulled, as uvicorn's `receive` does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if not self.chunks:
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


def _scope(path: str, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.10", 5000),
        "server": ("testserver", 80),
    }


async def test_anonymous_streamed_body_is_not_read_at_all(platform: Platform):
    upload = Upload([b"x" * 65536] * 64)
    scope = _scope("/api/customers/c1/comments", {"content-type": "application/json"})
    await platform.app(scope, upload.receive, upload.send)
    assert upload.status == 401
    assert upload.pulled == 0


async def test_body_over_the_cap_without_content_length_is_413_once_the_cap_is_passed(
    platform: Platform,
):
    cap = platform.settings.max_api_body_bytes
    upload = Upload([b" " * 65536] * 64)  # 4 MiB, no Content-Length (chunked)
    headers = {**platform.auth("ana", "staff"), "content-type": "application/json"}
    await platform.app(_scope("/api/customers/c1/comments", headers), upload.receive, upload.send)
    assert upload.status == 413
    assert upload.body["error"]["code"] == "payload_too_large"
    assert "MAX_API_BODY_BYTES" in upload.body["error"]["message"]
    assert upload.pulled <= cap + 65536


async def test_body_over_the_cap_under_a_lying_content_length_is_413(platform: Platform):
    upload = Upload([b" " * 65536] * 64)
    headers = {
        **platform.auth("ana", "staff"),
        "content-type": "application/json",
        "content-length": "10",
    }
    await platform.app(_scope("/api/customers/c1/comments", headers), upload.receive, upload.send)
    assert upload.status == 413


async def test_a_body_under_the_cap_reaches_the_route_whole(platform: Platform):
    text = "ñ" * 3000
    raw = json.dumps({"text": text}).encode()
    upload = Upload([raw[:1000], raw[1000:]])
    headers = {**platform.auth("ana", "staff"), "content-type": "application/json"}
    await platform.app(
        _scope("/api/customers/nobody-here/comments", headers), upload.receive, upload.send
    )
    # The route parsed the two chunks as one body (valid JSON) and looked the customer up.
    assert upload.status == 404


async def test_portal_route_takes_the_portal_token_not_a_staff_jwt(platform: Platform):
    form = {
        "name": "Íñigo Fernández",
        "document_number": "30.555.777",
        "email": "inigo@example.com",
        "subject": "Factura",
        "text": "Me llegaron dos facturas.",
    }
    staff = await platform.http.post("/api/consultations", json=form, headers=platform.auth())
    assert staff.status_code == 401
    portal = {"Authorization": f"Bearer {platform.settings.portal_token}"}
    created = await platform.http.post("/api/consultations", json=form, headers=portal)
    assert created.status_code == 201, created.text
    # The portal token opens nothing else of the staff API.
    listing = await platform.http.get("/api/consultations", headers=portal)
    assert listing.status_code == 401


async def test_webhooks_keep_their_own_credentials(platform: Platform):
    """No staff JWT on webhooks: the web chatbot's token is checked by ingest as before."""
    bad = await platform.http.post(
        "/webhooks/webchat", json={}, headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    good = await platform.http.post(
        "/webhooks/webchat",
        json={},
        headers={"Authorization": f"Bearer {platform.settings.webchat_token}"},
    )
    assert good.status_code in (400, 422), good.text


class _Unreachable:
    async def valid_after(self, user_id: str) -> float | None:
        raise ConnectionError("database down")


async def test_an_unreadable_revocation_record_refuses_with_503_not_500(platform: Platform):
    from shared.http_guard import HttpGuard
    from shared.throttle import FailureThrottle

    guard = HttpGuard(platform.app, platform.settings, _Unreachable(), FailureThrottle(5, 60))
    upload = Upload([b""])
    await guard(_scope("/api/stream", platform.auth(), "GET"), upload.receive, upload.send)
    assert upload.status == 503
    assert upload.pulled == 0


async def test_a_wrong_web_chat_token_is_refused_before_its_body_is_sent(served: Served):
    head = (
        "POST /webhooks/webchat HTTP/1.1\n"
        f"Host: {served.host}\n"
        "Authorization: Bearer not-the-token\n"
        "Content-Type: application/json\n"
        f"Content-Length: {THIRTY_MB}\n"
    )
    answer = await raw_request(served, head, b'{"text": "')
    assert answer.startswith(b"HTTP/1.1 401"), answer


class Stalled:
    """A client that sent part of its body and then nothing more (the connection stays)."""

    def __init__(self, first: bytes = b'{"text": "') -> None:
        self.first: bytes | None = first
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.first is not None:
            chunk, self.first = self.first, None
            return {"type": "http.request", "body": chunk, "more_body": True}
        await asyncio.Event().wait()  # never more
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def _guarded(platform: Platform, **limits: Any) -> HttpGuard:
    """The guard as the platform installs it, with these limits, in front of its routes."""
    settings = platform.settings.model_copy(update=limits)
    throttle = FailureThrottle(1_000_000, 60)
    return HttpGuard(platform.app, settings, platform.app.state.revocations, throttle)


async def test_a_body_that_stops_arriving_is_408_after_the_read_timeout(platform: Platform):
    guard = _guarded(platform, body_read_timeout_seconds=0.3)
    stalled = Stalled()
    headers = {**platform.auth("ana", "staff"), "content-type": "application/json"}
    scope = _scope("/api/customers/c1/comments", headers)
    await asyncio.wait_for(guard(scope, stalled.receive, stalled.send), timeout=5)
    assert stalled.sent[0]["status"] == 408
    assert json.loads(stalled.sent[1]["body"])["error"]["code"] == "request_timeout"
    assert guard.bodies.total == 0  # its bytes are counted no more


async def test_bodies_being_read_are_bounded_in_bytes_per_client_then_freed(
    platform: Platform,
):
    guard = _guarded(platform, max_body_bytes_in_flight_per_client=2500)
    announced = {"content-type": "application/json", "content-length": "1000"}
    scope = _scope("/webhooks/whatsapp", announced)  # signed webhooks: the body is read first
    holders = [Stalled() for _ in range(2)]  # 2 × 1,000 bytes announced, half-sent, held
    held = [asyncio.create_task(guard(scope, h.receive, h.send)) for h in holders]
    try:
        await asyncio.sleep(0.1)
        assert guard.bodies.total == 2000
        third = Upload([b"{}"])
        await asyncio.wait_for(guard(scope, third.receive, third.send), timeout=5)
        assert third.status == 503 and third.body["error"]["code"] == "busy"
        assert dict(third.sent[0]["headers"])[b"retry-after"] == b"1"
        small = Upload([b"{}"])  # a small webhook from the same address still fits
        unannounced = _scope("/webhooks/whatsapp", {"content-type": "application/json"})
        await asyncio.wait_for(guard(unannounced, small.receive, small.send), timeout=5)
        assert small.status != 503
        other = {**scope, "client": ("198.51.100.7", 5000)}  # another address gets in
        fourth = Upload([b"{}"])
        await asyncio.wait_for(guard(other, fourth.receive, fourth.send), timeout=5)
        assert fourth.status != 503
    finally:
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
    assert guard.bodies.total == 0 and guard.bodies.by_client == {}
