"""End to end on one platform: a signed WhatsApp webhook opens a conversation, Lara's
greeting reaches the stand-in Graph API, a staff reply follows; then Meta's status webhook
and a provider's refusal must show on the message (those two need routing to apply the
connector's `DeliveryStatus` by `message_id`: routing applies it)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fixtures.graph.standin import GraphStandIn, Reply
from tests.integration.delivery.conftest import PHONE_NUMBER_ID
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import wa_envelope, wa_text


def new_phone() -> str:
    return "54911" + str(uuid.uuid4().int)[:8]


def now_stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """The sample payloads carry a fixed 2025 timestamp; the 24-hour window counts from the
    customer's message time, so an end-to-end chat needs a message written now."""
    for entry in payload["entry"]:
        for change in entry["changes"]:
            for message in change["value"].get("messages", []):
                message["timestamp"] = str(int(time.time()))
    return payload


async def signed_whatsapp(platform: Platform, payload: dict[str, Any]) -> None:
    raw = meta_body(now_stamped(payload))
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw),
        },
    )
    assert response.status_code == 200, response.text


async def conversation_of(platform: Platform, phone: str) -> dict[str, Any]:
    staff = platform.auth("ana", "staff")

    async def found() -> dict[str, Any] | None:
        listed = await platform.http.get(
            "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=staff
        )
        items = listed.json().get("items") if listed.status_code == 200 else None
        return items[0] if items else None

    return await eventually(found, timeout=30)


async def message_in(platform: Platform, conversation_id: str, message_id: str) -> dict[str, Any]:
    detail = await platform.http.get(
        f"/api/conversations/{conversation_id}", headers=platform.auth("ana", "staff")
    )
    [message] = [m for m in detail.json()["messages"] if m["message_id"] == message_id]
    return dict(message)


async def greeted_and_replied(
    platform: Platform, graph: GraphStandIn, phone: str
) -> tuple[str, str, str]:
    """Inbound → greeting delivered → staff reply delivered; (conversation, reply id, wamid)."""
    await signed_whatsapp(platform, wa_text("Hola, no tengo internet", phone=phone))

    async def greeting() -> list[Any]:
        return [
            r
            for r in graph.accepted(phone)
            if r.body.get("text", {}).get("body", "").startswith(platform.settings.welcome_message)
        ]

    await eventually(greeting, timeout=30)
    conversation = await conversation_of(platform, phone)
    cid = conversation["conversation_id"]
    response = await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Soy Ana, de soporte: ¿probó reiniciar el módem?"},
        headers=platform.auth("ana", "staff"),
    )
    assert response.status_code == 200, response.text
    reply_id = response.json()["message_id"]

    async def reply_sent() -> list[Any]:
        return [
            r
            for r in graph.accepted(phone)
            if r.body.get("text", {}).get("body")
            == "Soy Ana, de soporte: ¿probó reiniciar el módem?"
        ]

    [sent] = await eventually(reply_sent, timeout=30)
    return cid, reply_id, str(sent.message_id)


async def test_a_signed_inbound_message_gets_larass_greeting_and_a_staff_reply_on_whatsapp(
    sending: Platform, graph: GraphStandIn
) -> None:
    phone = new_phone()
    await greeted_and_replied(sending, graph, phone)
    assert all(r.body["to"] == phone for r in graph.attempts(phone))
    texts = [r.body["text"]["body"] for r in graph.accepted(phone)]
    # Lara greets (and answers the question); each message reaches the customer once.
    assert texts[0].startswith(sending.settings.welcome_message)
    assert texts.count("Soy Ana, de soporte: ¿probó reiniciar el módem?") == 1
    assert len(texts) == len(set(texts)), texts
    assert graph.violations == []


async def test_a_delivered_status_webhook_marks_the_staff_reply_delivered(
    sending: Platform, graph: GraphStandIn
) -> None:
    phone = new_phone()
    cid, reply_id, wamid = await greeted_and_replied(sending, graph, phone)

    async def shown_sent() -> bool:
        return (await message_in(sending, cid, reply_id)).get("delivery") == "sent"

    await eventually(shown_sent, timeout=15)  # staff sees "sent"; then Meta reports
    status = {
        "id": wamid,
        "status": "delivered",
        "timestamp": str(int(time.time())),
        "recipient_id": phone,
    }
    await signed_whatsapp(sending, wa_envelope(PHONE_NUMBER_ID, {"statuses": [status]}))

    async def delivered() -> bool:
        return (await message_in(sending, cid, reply_id)).get("delivery") == "delivered"

    await eventually(delivered, timeout=15)


async def test_a_reply_meta_refuses_shows_failed_to_staff(
    sending: Platform, graph: GraphStandIn
) -> None:
    phone = new_phone()
    await signed_whatsapp(sending, wa_text("Hola", phone=phone))
    conversation = await conversation_of(sending, phone)
    cid = conversation["conversation_id"]
    graph.script_text("¿Nos confirma su dirección?", Reply.error("131026"))
    response = await sending.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "¿Nos confirma su dirección?"},
        headers=sending.auth("ana", "staff"),
    )
    reply_id = response.json()["message_id"]

    async def failed() -> bool:
        return (await message_in(sending, cid, reply_id)).get("delivery") == "failed"

    await eventually(failed, timeout=15)
    events = await sending.http.get(
        f"/api/conversations/{cid}/events", headers=sending.auth("ana", "staff")
    )
    assert any(e.get("action") == "delivery_failed" for e in events.json())
