"""End to end over HTTP and the real broker: what the IVR bot said to the caller is part of
the call's conversation, in order with the caller's answers, and asking for a person puts
the call in the agents' queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from services.routing.timeline import derived_id
from tests.support import Platform, eventually, twilio_signature
from tests.unit.ingest.payloads import twilio_call, uid

IVR_URL = "http://testserver/webhooks/ivr"


async def post_ivr(platform: Platform, params: dict[str, str], query: str = "") -> Any:
    url = IVR_URL + (f"?{query}" if query else "")
    response = await platform.http.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(platform.settings.ivr_auth_token, url, params),
        },
    )
    assert response.status_code == 200, response.text
    return response


async def call_conversation(platform: Platform, sid: str, messages: int) -> dict[str, Any]:
    """The call's conversation once it shows `messages` messages."""
    cid = derived_id("call", sid)

    async def shown() -> dict[str, Any] | None:
        response = await platform.http.get(f"/api/conversations/{cid}", headers=platform.auth())
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if len(body["messages"]) >= messages else None

    return await eventually(shown, timeout=30)


def lines(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["author"], m["text"]) for m in view["messages"]]


async def test_the_ivr_prompts_are_stored_in_order_with_what_the_caller_said(
    platform: Platform,
) -> None:
    sid = f"CA{uid()}"
    menu = (await post_ivr(platform, twilio_call(sid))).text
    wrong = await post_ivr(
        platform, twilio_call(sid, Digits="7", CallStatus="in-progress"), "step=gather&menu=main"
    )
    right = await post_ivr(
        platform, twilio_call(sid, Digits="1", CallStatus="in-progress"), "step=gather&menu=main"
    )
    view = await call_conversation(platform, sid, messages=5)
    said = lines(view)
    assert [author for author, _ in said] == [
        "system:ivr",
        "customer",
        "system:ivr",
        "customer",
        "system:ivr",
    ]
    assert said[0][1].startswith("Bienvenido a ToWebs") and said[0][1] in menu
    assert said[1][1] == "7"
    assert said[2][1].startswith("No entendimos su opción") and "No entendimos" in wrong.text
    assert said[3][1] == "1"
    # The first level asks the second (seed 004: a more specific motive follows).
    assert said[4][1].startswith("Si no tiene conexión") and said[4][1] in right.text
    # A plain motive keeps the call where it was: no queue, nobody asked for a person.
    assert view["queue"] is None


async def test_asking_for_a_person_puts_the_call_in_the_agents_queue_with_a_note(
    platform: Platform,
) -> None:
    sid = f"CA{uid()}"
    await post_ivr(platform, twilio_call(sid))
    spoken = await post_ivr(
        platform,
        twilio_call(sid, SpeechResult="quiero hablar con una persona", CallStatus="in-progress"),
        "step=gather&menu=main",
    )
    assert "una persona de nuestro equipo" in spoken.text
    view = await call_conversation(platform, sid, messages=3)
    assert lines(view)[1:] == [
        ("customer", "quiero hablar con una persona"),
        ("system:ivr", "Gracias. En breve una persona de nuestro equipo se comunicará con usted."),
    ]
    assert view["holder"] is None
    assert view["queue"] == "agentes"
    assert view["notes"] and "persona" in view["notes"][-1]["text"]
    assert [e["action"] for e in view["events"]].count("escalated") == 1

    # Twilio's status callback after the hang-up changes nothing of that.
    await post_ivr(platform, twilio_call(sid, CallStatus="completed", SequenceNumber="3"))

    async def completed() -> dict[str, Any] | None:
        body = await call_conversation(platform, sid, messages=3)
        return body if body["call"].get("call_status") == "completed" else None

    after = await eventually(completed, timeout=30)
    assert after["queue"] == "agentes"
    assert len(after["messages"]) == 3
    assert [e["action"] for e in after["events"]].count("escalated") == 1
