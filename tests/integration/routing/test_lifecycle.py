"""Staff actions over HTTP on the real broker and database: each action and each refusal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika
import pytest

from tests.integration.routing.helpers import (
    conversation,
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
    uid,
)
from tests.support import Platform, eventually


def url(cid: str, action: str) -> str:
    return f"/api/conversations/{cid}/{action}"


async def test_escalate_without_a_note_is_refused_with_422_and_a_clear_message(
    platform: Platform,
):
    cid = await open_conversation(platform)
    response = await platform.http.post(url(cid, "escalate"), json={}, headers=platform.auth())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "note_required"
    assert "note is required" in error["details"][0]["message"]
    blank = await platform.http.post(
        url(cid, "escalate"), json={"note": "   "}, headers=platform.auth()
    )
    assert blank.status_code == 422


async def test_escalate_puts_the_conversation_in_the_staff_queue_with_the_note(
    platform: Platform,
):
    cid = await open_conversation(platform)
    response = await platform.http.post(
        url(cid, "escalate"), json={"note": "pide reintegro"}, headers=platform.auth()
    )
    assert response.status_code == 200, response.text
    assert response.json()["conversation"]["holder"] is None
    assert response.json()["conversation"]["queue"] == "staff"
    view = await conversation(platform, cid)
    assert view["notes"][-1]["text"] == "pide reintegro"
    escalated = [e for e in view["events"] if e["action"] == "escalated"]
    assert escalated[0]["note"] == "pide reintegro"
    assert escalated[0]["actor"] == "staff:ana"


@pytest.fixture(autouse=True)
async def directory(platform: Platform) -> None:
    """Luis (agent) and Eva (staff) are people of the directory: conversations go to them."""
    await platform.person("luis", "agent", "Luis Pérez")
    await platform.person("eva", "staff", "Eva Díaz")


async def test_assign_requires_staff_a_note_and_a_person(platform: Platform):
    cid = await open_conversation(platform)
    agent = await platform.http.post(
        url(cid, "assign"),
        json={"to": "agent:luis", "note": "x"},
        headers=platform.auth("luis", "agent"),
    )
    assert agent.status_code == 403
    no_note = await platform.http.post(
        url(cid, "assign"), json={"to": "agent:luis"}, headers=platform.auth()
    )
    assert no_note.status_code == 422
    bad_target = await platform.http.post(
        url(cid, "assign"), json={"to": "lara", "note": "x"}, headers=platform.auth()
    )
    assert bad_target.status_code == 422


async def test_assign_then_reassign_are_recorded_as_such(platform: Platform):
    cid = await open_conversation(platform)
    first = await platform.http.post(
        url(cid, "assign"), json={"to": "agent:luis", "note": "soporte"}, headers=platform.auth()
    )
    assert first.status_code == 200
    assert first.json()["conversation"]["holder"] == "agent:luis"
    second = await platform.http.post(
        url(cid, "assign"), json={"to": "staff:eva", "note": "caso VIP"}, headers=platform.auth()
    )
    assert second.status_code == 200
    assert second.json()["conversation"]["holder"] == "staff:eva"
    actions = [e["action"] for e in (await conversation(platform, cid))["events"]]
    assert "assigned" in actions and "reassigned" in actions


async def test_second_take_is_refused_with_409(platform: Platform):
    cid = await open_conversation(platform)
    first = await platform.http.post(url(cid, "take"), headers=platform.auth("ana"))
    assert first.status_code == 200
    assert first.json()["conversation"]["holder"] == "staff:ana"
    second = await platform.http.post(url(cid, "take"), headers=platform.auth("beto"))
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "already_taken"
    assert "staff:ana" in error["details"][0]["message"]


async def test_of_50_concurrent_takes_exactly_one_wins(platform: Platform):
    cid = await open_conversation(platform)
    users = [uid("u") for _ in range(50)]
    responses = await asyncio.gather(
        *(platform.http.post(url(cid, "take"), headers=platform.auth(u)) for u in users)
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1
    assert codes.count(409) == 49
    winner = next(u for u, r in zip(users, responses, strict=True) if r.status_code == 200)
    view = await conversation(platform, cid)
    assert view["holder"] == f"staff:{winner}"
    assert [e["action"] for e in view["events"]].count("taken") == 1


async def test_return_releases_to_the_queue_and_only_the_holder_may(platform: Platform):
    cid = await open_conversation(platform)
    await platform.http.post(
        url(cid, "assign"), json={"to": "agent:luis", "note": "tuyo"}, headers=platform.auth()
    )
    other_agent = await platform.http.post(
        url(cid, "return"), headers=platform.auth("mia", "agent")
    )
    assert other_agent.status_code == 403
    response = await platform.http.post(url(cid, "return"), headers=platform.auth("luis", "agent"))
    assert response.status_code == 200
    assert response.json()["conversation"]["holder"] is None
    assert response.json()["conversation"]["queue"] == "agentes"
    again = await platform.http.post(url(cid, "return"), headers=platform.auth())
    assert again.status_code == 409


async def test_only_the_holder_may_reply(platform: Platform):
    cid = await open_conversation(platform)
    await platform.http.post(
        url(cid, "assign"), json={"to": "agent:luis", "note": "tuyo"}, headers=platform.auth()
    )
    stranger = await platform.http.post(
        url(cid, "messages"), json={"text": "hola"}, headers=platform.auth("mia", "agent")
    )
    assert stranger.status_code == 403
    holder = await platform.http.post(
        url(cid, "messages"),
        json={"text": "hola, soy Luis"},
        headers=platform.auth("luis", "agent"),
    )
    assert holder.status_code == 200
    await platform.http.post(url(cid, "take"), headers=platform.auth("ana"))
    other_staff = await platform.http.post(
        url(cid, "messages"), json={"text": "yo también"}, headers=platform.auth("beto")
    )
    assert other_staff.status_code == 403


async def test_staff_reply_takes_over_and_silences_lara(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    response = await platform.http.post(
        url(cid, "messages"), json={"text": "Hola, te atiendo yo"}, headers=platform.auth("eva")
    )
    assert response.status_code == 200, response.text
    assert response.json()["conversation"]["holder"] == "staff:eva"
    before = await conversation(platform, cid)
    lara_before = sum(1 for m in before["messages"] if m["author"] == "lara")
    msg = await customer_writes(platform, identity, "gracias, ¿cuánto sale el plan?")
    await message_stored(platform, msg.event_id)
    after = await conversation(platform, cid)
    assert sum(1 for m in after["messages"] if m["author"] == "lara") == lara_before
    actions = [e["action"] for e in after["events"]]
    assert "taken" in actions and "message_sent" in actions
    assert after["holder"] == "staff:eva"


async def test_reply_is_published_for_the_channel_connector(platform: Platform):
    """The reply reaches the broker under `outbound.whatsapp.message` (read back from a
    queue bound to the real exchange), and nothing stays staged."""
    connection = await aio_pika.connect(platform.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform.ctx.bus.exchange.name)
        probe = await channel.declare_queue(exclusive=True, auto_delete=True)
        await probe.bind(exchange, routing_key="outbound.#")
        cid = await open_conversation(platform)
        response = await platform.http.post(
            url(cid, "messages"), json={"text": "Listo"}, headers=platform.auth("eva")
        )
        message_id = response.json()["message_id"]

        async def published() -> dict[str, Any] | None:
            while (message := await probe.get(no_ack=True, fail=False)) is not None:
                body = json.loads(message.body)
                if body["event_id"] == message_id:
                    assert message.routing_key == "outbound.whatsapp.message"
                    return body
            return None

        body = await eventually(published)
    assert body["text"] == "Listo"
    assert body["conversation_id"] == cid
    # Carried out: the reply is stored. Its entry stays in the document (no write of its
    # own to remove it) until the conversation's next write replaces it.
    assert await platform.db("routing")["messages"].find_one({"_id": message_id}) is not None
    doc = await platform.db("routing")["conversations"].find_one({"_id": cid})
    assert doc is not None and len(doc["outbox"]) >= 1


async def test_webchat_conversation_is_read_only(platform: Platform):
    cid = await open_conversation(platform, new_identity("webchat"))
    response = await platform.http.post(
        url(cid, "messages"), json={"text": "hola"}, headers=platform.auth()
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "read_only_channel"
    assert "email or phone" in error["details"][0]["message"]
    view = await conversation(platform, cid)
    assert not [m for m in view["messages"] if m["author"] != "customer"]


async def test_close_then_new_message_opens_a_new_conversation_held_by_lara(
    platform: Platform,
):
    identity = new_identity("messenger")
    cid = await open_conversation(platform, identity)
    await platform.http.post(url(cid, "take"), headers=platform.auth())
    closed = await platform.http.post(url(cid, "close"), headers=platform.auth())
    assert closed.status_code == 200
    assert closed.json()["conversation"]["status"] == "cerrada"
    again = await platform.http.post(url(cid, "finish"), headers=platform.auth())
    assert again.status_code == 409
    new = await open_conversation(platform, identity, "volví")
    assert new != cid
    view = await conversation(platform, new)
    assert view["holder"] == "lara"
    assert view["status"] == "abierta"


async def test_notes_are_internal_and_a_note_to_lara_lets_her_speak(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    await platform.http.post(url(cid, "take"), headers=platform.auth())
    empty = await platform.http.post(url(cid, "notes"), json={}, headers=platform.auth())
    assert empty.status_code == 422
    response = await platform.http.post(
        url(cid, "notes"), json={"text": "Lara, seguí vos", "to": "lara"}, headers=platform.auth()
    )
    assert response.status_code == 200
    view = await conversation(platform, cid)
    assert view["notes"][-1] == {**view["notes"][-1], "text": "Lara, seguí vos", "to": "lara"}
    outbound = platform.db("routing")["outbox"].find({"routing_key": {"$regex": "^outbound"}})
    assert all([d["body"]["text"] != "Lara, seguí vos" async for d in outbound])
    doc = await platform.db("routing")["conversations"].find_one({"_id": cid})
    assert doc["lara_allowed"] is True


async def test_seen_is_recorded_in_the_trail(platform: Platform):
    cid = await open_conversation(platform)
    response = await platform.http.post(url(cid, "seen"), headers=platform.auth("ana"))
    assert response.status_code == 200
    events = (await platform.http.get(url(cid, "events"), headers=platform.auth())).json()
    assert events[-1]["action"] == "seen"
    assert events[-1]["actor"] == "staff:ana"


async def test_agent_may_not_act_on_a_conversation_held_by_lara(platform: Platform):
    cid = await open_conversation(platform)
    # (Marking it seen is reading, allowed: test_unread_seen_presence.py.)
    for action in ("escalate", "notes", "close"):
        response = await platform.http.post(
            url(cid, action),
            json={"note": "x", "text": "x"},
            headers=platform.auth("luis", "agent"),
        )
        assert response.status_code == 403, (action, response.text)


async def test_unknown_conversation_is_404(platform: Platform):
    response = await platform.http.post(url("nope", "take"), headers=platform.auth())
    assert response.status_code == 404
    response = await platform.http.get("/api/conversations/nope", headers=platform.auth())
    assert response.status_code == 404
