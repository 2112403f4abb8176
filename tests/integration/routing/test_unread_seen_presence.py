"""The stream for each person: unread counts, "seen" recorded once per new customer message,
and the team's presence (en línea / ausente) — over HTTP, on the real broker and database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.routing.helpers import (
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
    uid,
)
from tests.support import Platform


async def unread_of(platform: Platform, headers: dict[str, str], cid: str) -> int:
    """The caller's unread count for `cid`, as the stream and the list both give it."""
    counts = []
    for path in ("/api/stream", "/api/conversations"):
        response = await platform.http.get(path, headers=headers, params={"page_size": 200})
        assert response.status_code == 200, response.text
        items = [i for i in response.json()["items"] if i["conversation_id"] == cid]
        if items:
            counts.append(items[0]["unread"])
    detail = await platform.http.get(f"/api/conversations/{cid}", headers=headers)
    counts.append(detail.json()["unread"])
    assert len(set(counts)) == 1, counts
    return int(counts[0])


async def seen(platform: Platform, headers: dict[str, str], cid: str) -> dict[str, Any]:
    response = await platform.http.post(f"/api/conversations/{cid}/seen", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def seen_events(platform: Platform, cid: str, actor: str) -> int:
    response = await platform.http.get(f"/api/conversations/{cid}/events", headers=platform.auth())
    return sum(1 for e in response.json() if e["action"] == "seen" and e["actor"] == actor)


async def test_each_person_has_their_own_unread_count(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity, "hola, no tengo internet")
    for text in ("sigo sin servicio", "¿hay alguien?"):
        msg = await customer_writes(platform, identity, text)
        await message_stored(platform, msg.event_id)
    agent = platform.auth(uid("ag"), "agent")
    staff = platform.auth(uid("st"), "staff")
    assert await unread_of(platform, agent, cid) == 3
    assert await unread_of(platform, staff, cid) == 3

    await seen(platform, agent, cid)  # the agent opens it

    assert await unread_of(platform, agent, cid) == 0
    assert await unread_of(platform, staff, cid) == 3  # the staff member has not read it
    msg = await customer_writes(platform, identity, "hola??")
    await message_stored(platform, msg.event_id)
    assert await unread_of(platform, agent, cid) == 1  # only what came after
    assert await unread_of(platform, staff, cid) == 4


async def test_seen_is_recorded_once_per_new_customer_message_not_on_every_open(
    platform: Platform,
):
    identity = new_identity()
    cid = await open_conversation(platform, identity, "hola")
    user = uid("ana")
    headers = platform.auth(user, "staff")

    first = await seen(platform, headers, cid)
    again = await asyncio.gather(*(seen(platform, headers, cid) for _ in range(5)))

    assert first["recorded"] is True
    assert not any(r["recorded"] for r in again)
    assert await seen_events(platform, cid, f"staff:{user}") == 1
    version = first["conversation"]["version"]
    assert all(r["conversation"]["version"] == version for r in again)  # nothing written

    msg = await customer_writes(platform, identity, "¿me atienden?")
    await message_stored(platform, msg.event_id)
    assert (await seen(platform, headers, cid))["recorded"] is True
    assert (await seen(platform, headers, cid))["recorded"] is False
    assert await seen_events(platform, cid, f"staff:{user}") == 2


async def test_opening_at_the_same_moment_twice_records_one_seen(platform: Platform):
    cid = await open_conversation(platform, new_identity(), "hola")
    user = uid("ana")
    headers = platform.auth(user, "staff")
    results = await asyncio.gather(*(seen(platform, headers, cid) for _ in range(4)))
    assert sum(r["recorded"] for r in results) == 1
    assert await seen_events(platform, cid, f"staff:{user}") == 1


async def test_seeing_does_not_move_the_conversation_in_the_stream(platform: Platform):
    cid = await open_conversation(platform, new_identity(), "hola")
    before = (await seen(platform, platform.auth(uid("a"), "staff"), cid))["conversation"]
    after = (await seen(platform, platform.auth(uid("b"), "staff"), cid))["conversation"]
    assert after["last_activity_at"] == before["last_activity_at"]


async def test_an_agent_marks_seen_a_conversation_they_do_not_hold(platform: Platform):
    cid = await open_conversation(platform, new_identity(), "hola")  # held by Lara
    agent = uid("luis")
    body = await seen(platform, platform.auth(agent, "agent"), cid)
    assert body["recorded"] is True
    assert await seen_events(platform, cid, f"agent:{agent}") == 1


async def test_the_central_office_does_not_mark_seen(platform: Platform):
    cid = await open_conversation(platform, new_identity(), "hola")
    response = await platform.http.post(
        f"/api/conversations/{cid}/seen", headers=platform.auth(uid("of"), "central")
    )
    assert response.status_code == 403


def person(team: dict[str, Any], user: str) -> dict[str, Any] | None:
    return next((p for p in team["people"] if p["user"] == user), None)


async def test_presence_goes_from_en_linea_to_ausente_when_the_beats_stop(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(platform.settings, "presence_timeout_seconds", 1.0)
    agent, staff = uid("luis"), uid("ana")
    beat = await platform.http.post("/api/presence", headers=platform.auth(agent, "agent"))
    assert beat.status_code == 200, beat.text
    assert beat.json()["beat_every_seconds"] == pytest.approx(1 / 3, abs=0.01)
    await platform.http.post("/api/presence", headers=platform.auth(staff, "staff"))

    team = (await platform.http.get("/api/presence", headers=platform.auth(staff))).json()
    assert person(team, f"agent:{agent}") == {
        **(person(team, f"agent:{agent}") or {}),
        "role": "agent",
        "status": "en_linea",
        "label": "en línea",
    }
    assert (person(team, f"staff:{staff}") or {})["status"] == "en_linea"

    await asyncio.sleep(0.6)
    await platform.http.post("/api/presence", headers=platform.auth(staff, "staff"))
    await asyncio.sleep(0.6)  # the agent's last beat is 1.2 s old, the staff's 0.6 s

    team = (await platform.http.get("/api/presence", headers=platform.auth(staff))).json()
    assert (person(team, f"agent:{agent}") or {})["label"] == "ausente"
    assert (person(team, f"staff:{staff}") or {})["label"] == "en línea"
    online = [p["status"] for p in team["people"]]
    assert online == sorted(online, key=lambda s: s != "en_linea")  # en línea listed first

    await platform.http.post("/api/presence", headers=platform.auth(agent, "agent"))
    team = (await platform.http.get("/api/presence", headers=platform.auth(staff))).json()
    assert (person(team, f"agent:{agent}") or {})["status"] == "en_linea"  # back


async def test_the_central_office_is_not_listed_in_the_team(platform: Platform):
    office = uid("of")
    beat = await platform.http.post("/api/presence", headers=platform.auth(office, "central"))
    assert beat.status_code == 200
    assert person(beat.json(), f"central:{office}") is None


async def test_presence_needs_a_token(platform: Platform):
    assert (await platform.http.get("/api/presence")).status_code == 401
