"""Quick replies (seed 002): personal ones seen and changed by their owner only, the team's
seen by everyone who answers and changed by the office; and a customer's messages by
author, which the customer panel's Casos reads (an agent's own previous replies, seed 003)."""

from __future__ import annotations

from tests.integration.routing.helpers import (
    conversation,
    customer_writes,
    message_stored,
    new_identity,
    uid,
)
from tests.support import Platform, eventually

URL = "/api/quick-replies"


async def test_personal_quick_replies_are_their_owners_and_the_teams_are_everyones(
    platform: Platform,
):
    luis, mia = platform.auth(uid("luis"), "agent"), platform.auth(uid("mia"), "agent")
    staff = platform.auth(uid("ana"), "staff")
    name = uid("saludo")

    mine = await platform.http.post(
        URL, json={"name": f"/{name}", "text": "Hola, soy Luis de ToWebs."}, headers=luis
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["name"] == name and mine.json()["scope"] == "personal"
    duplicate = await platform.http.post(URL, json={"name": name, "text": "otra"}, headers=luis)
    assert duplicate.status_code == 409
    # Another person may use the same name for their own.
    assert (
        await platform.http.post(URL, json={"name": name, "text": "Hola, soy Mía."}, headers=mia)
    ).status_code == 201

    team = await platform.http.post(
        URL,
        json={"name": name, "text": "Hola, te escribe el equipo de ToWebs.", "scope": "team"},
        headers=staff,
    )
    assert team.status_code == 201
    agent_team = await platform.http.post(
        URL, json={"name": uid("x"), "text": "x", "scope": "team"}, headers=luis
    )
    assert agent_team.status_code == 403

    seen = (await platform.http.get(URL, headers=luis)).json()
    texts = {(r["scope"], r["text"]) for r in seen if r["name"] == name}
    assert texts == {
        ("personal", "Hola, soy Luis de ToWebs."),
        ("team", "Hola, te escribe el equipo de ToWebs."),
    }

    # Someone else's personal reply does not exist for them; the team's is the office's.
    mine_id, team_id = mine.json()["id"], team.json()["id"]
    assert (
        await platform.http.patch(f"{URL}/{mine_id}", json={"text": "x"}, headers=mia)
    ).status_code == 404
    assert (await platform.http.delete(f"{URL}/{mine_id}", headers=staff)).status_code == 404
    assert (
        await platform.http.patch(f"{URL}/{team_id}", json={"text": "x"}, headers=luis)
    ).status_code == 403
    assert (await platform.http.delete(f"{URL}/{team_id}", headers=mia)).status_code == 403

    edited = await platform.http.patch(
        f"{URL}/{mine_id}", json={"text": "Hola, soy Luis."}, headers=luis
    )
    assert edited.status_code == 200 and edited.json()["text"] == "Hola, soy Luis."
    team_edit = await platform.http.patch(
        f"{URL}/{team_id}", json={"text": "Hola, equipo."}, headers=staff
    )
    assert team_edit.status_code == 200
    assert (await platform.http.delete(f"{URL}/{mine_id}", headers=luis)).status_code == 204
    left = {(r["scope"], r["text"]) for r in (await platform.http.get(URL, headers=luis)).json()}
    assert ("team", "Hola, equipo.") in left and ("personal", "Hola, soy Luis.") not in left

    bad = await platform.http.post(URL, json={"name": "dos palabras!", "text": "x"}, headers=luis)
    assert bad.status_code == 422
    central = platform.auth("oficina", "central")
    assert (await platform.http.get(URL, headers=central)).status_code == 403


async def test_a_customers_messages_filtered_by_author_hold_only_that_agents_replies(
    platform: Platform,
):
    identity = new_identity()
    first = await customer_writes(platform, identity, "hola, no tengo internet")
    stored = await message_stored(platform, first.event_id)
    cid = stored["conversation_id"]

    async def customer_known() -> str | None:
        return (await conversation(platform, cid)).get("customer_id")

    customer_id = await eventually(customer_known)
    luis_id, juan_id = uid("luis"), uid("juan")
    luis, juan = platform.auth(luis_id, "agent"), platform.auth(juan_id, "agent")
    for agent in (luis_id, juan_id):  # assignments go to people of the directory
        await platform.person(agent, "agent")
    url = f"/api/conversations/{cid}"
    staff = platform.auth()
    for to, who, text in (
        (f"agent:{luis_id}", luis, "Hola, soy Luis: reinicie el módem."),
        (f"agent:{juan_id}", juan, "Hola, soy Juan: ya enviamos un técnico."),
    ):
        r = await platform.http.post(
            f"{url}/assign", json={"to": to, "note": "tuyo"}, headers=staff
        )
        assert r.status_code == 200, r.text
        r = await platform.http.post(f"{url}/messages", json={"text": text}, headers=who)
        assert r.status_code == 200, r.text

    async def messages(params: dict[str, str], headers: dict[str, str]) -> list | None:
        r = await platform.http.get(
            "/api/messages", params={"customer_id": customer_id, **params}, headers=headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        return body if any("Juan" in (m["text"] or "") for m in body) else None

    own = await eventually(lambda: _own(platform, customer_id, luis))
    assert [m["text"] for m in own] == ["Hola, soy Luis: reinicie el módem."]
    assert {m["author"] for m in own} == {f"agent:{luis_id}"}
    assert own[0]["conversation_id"] == cid and own[0]["channel"] == "whatsapp"

    everything = await eventually(lambda: messages({}, staff))
    authors = [m["author"] for m in everything]
    assert "customer" in authors and f"agent:{juan_id}" in authors
    assert authors.index("customer") < authors.index(f"agent:{luis_id}")  # oldest first


async def _own(platform: Platform, customer_id: str, headers: dict[str, str]) -> list | None:
    r = await platform.http.get(
        "/api/messages", params={"customer_id": customer_id, "author": "me"}, headers=headers
    )
    return r.json() or None
