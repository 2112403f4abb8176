"""`GET /api/stream/live` over a real socket and the real broker: a webhook's conversation
reaches every connected console, including one served by another process's feed."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.routing.live import LiveFeed
from shared.auth import User, issue_token
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import wa_text

_FEED_ENDED = ("ended", None, "")


@asynccontextmanager
async def _listening(
    url: str, token: str, headers: dict[str, str] | None = None
) -> AsyncIterator[list[tuple[str, str | None, str]]]:
    """Collects (event, id, data) frames of one live connection while the block runs."""
    frames: list[tuple[str, str | None, str]] = []
    ready = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=url, timeout=None) as client,
            client.stream(
                "GET",
                "/api/stream/live",
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            event, event_id, data = "message", None, ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data:
                    frames.append((event, event_id, data))
                    if event == "ready":
                        ready.set()
                    event, event_id, data = "message", None, ""
        frames.append(_FEED_ENDED)  # the platform ended the response

    task = asyncio.create_task(read())
    await asyncio.wait_for(ready.wait(), 15)
    try:
        yield frames
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _conversation_id(platform: Platform, phone: str) -> str:
    async def found() -> str | None:
        page = await platform.http.get(
            "/api/conversations",
            params={"identity": f"whatsapp:+{phone}"},
            headers=platform.auth(),
        )
        items = page.json()["items"]
        return items[0]["conversation_id"] if items else None

    return await eventually(found, timeout=30)


async def test_without_a_token_the_live_feed_answers_401(console_url: str):
    async with httpx.AsyncClient(base_url=console_url) as client:
        response = await client.get("/api/stream/live")
    assert response.status_code == 401


async def test_a_new_conversation_reaches_every_console_on_every_process(
    platform: Platform, console_url: str
):
    settings = platform.settings
    # A second feed, as the routing process next to this one would run it: its own queue.
    other_process = LiveFeed()
    listener = await other_process.listen(settings, User("carla", "agent"))
    try:
        token = issue_token(settings, "ana", "staff")
        async with _listening(console_url, token) as frames:
            phone = f"549{random.randint(10**9, 10**10 - 1)}"
            raw = meta_body(wa_text("Se cortó el servicio", phone=phone))
            async with httpx.AsyncClient(base_url=console_url) as client:
                response = await client.post(
                    "/webhooks/whatsapp",
                    content=raw,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": meta_signature(settings.whatsapp_app_secret, raw),
                    },
                )
            assert response.status_code == 200
            conversation_id = await _conversation_id(platform, phone)

            def opened(items: list[dict[str, Any]]) -> bool:
                return any(
                    i["action"] == "opened"
                    and i["conversation"]["conversation_id"] == conversation_id
                    for i in items
                )

            async def seen_by_this_process() -> bool:
                return opened(
                    [json.loads(data) for event, _, data in frames if event == "conversation"]
                )

            await eventually(seen_by_this_process, timeout=15)
            received: list[dict[str, Any]] = []

            async def seen_by_the_other_process() -> bool:
                while not listener.queue.empty():
                    event = listener.queue.get_nowait()
                    if event is not None:
                        received.append(json.loads(event.payload(listener.user)))
                return opened(received)

            await eventually(seen_by_the_other_process, timeout=15)
            ids = [event_id for event, event_id, _ in frames if event == "conversation"]
            assert all(ids) and len(set(ids)) == len(ids)  # ids let a console resume
    finally:
        await other_process.close()


async def test_a_console_resuming_with_an_unknown_id_is_told_to_resync(
    platform: Platform, console_url: str
):
    token = issue_token(platform.settings, "ana", "central")
    async with _listening(console_url, token, {"Last-Event-ID": "elsewhere-42"}) as frames:
        assert [event for event, _, _ in frames[:2]] == ["resync", "ready"]


async def test_a_revoked_users_live_feed_ends_at_the_next_heartbeat(
    platform: Platform, console_url: str, monkeypatch: Any
):
    """Revocation ends a feed already streaming (it used to run on for up to 5 minutes)."""
    import services.routing.live as live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.5)
    user = f"rev{random.randint(10**5, 10**6)}"
    token = issue_token(platform.settings, user, "agent")
    async with _listening(console_url, token) as frames:
        revoked = await platform.http.post(
            f"/api/access/users/{user}/revoke", headers=platform.auth("root", "admin")
        )
        assert revoked.status_code == 200, revoked.text
        started = asyncio.get_running_loop().time()

        async def ended() -> bool | None:
            return True if _FEED_ENDED in frames else None

        await eventually(ended, timeout=10)
        assert asyncio.get_running_loop().time() - started < 10
