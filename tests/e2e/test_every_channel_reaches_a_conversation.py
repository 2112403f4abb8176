"""The whole inbound path for each channel: a signed webhook over HTTP, through ingest, the
real broker, customers and routing, to a conversation staff can see."""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import urlencode

from tests.support import Platform, eventually, meta_body, meta_signature, twilio_signature
from tests.unit.ingest.payloads import fb_text, twilio_call, wa_text, webchat


async def _conversation_of(platform: Platform, identity: str) -> dict[str, Any]:
    auth = platform.auth("ana", "staff")

    async def found() -> dict[str, Any] | None:
        listing = await platform.http.get(
            "/api/conversations", params={"identity": identity}, headers=auth
        )
        items = listing.json()["items"]
        if not items:
            return None
        detail = await platform.http.get(
            f"/api/conversations/{items[0]['conversation_id']}", headers=auth
        )
        body = detail.json()
        return body if body.get("customer_id") else None

    return await eventually(found, timeout=30)


async def test_whatsapp_text_opens_a_conversation_held_by_lara_for_a_known_customer(
    platform: Platform,
):
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    raw = meta_body(wa_text("Hola, no tengo internet", phone=phone, name="Marta Núñez"))
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw),
        },
    )
    assert response.status_code == 200
    conversation = await _conversation_of(platform, f"whatsapp:+{phone}")
    assert conversation["holder"] == "lara" and conversation["status"] == "abierta"
    assert conversation["customer_name"] == "Marta Núñez"
    texts = [(m["author"], m["text"]) for m in conversation["messages"]]
    assert ("customer", "Hola, no tengo internet") in texts
    # Lara's first turn is one message: the welcome, then her answer to what was asked.
    assert texts[1][0] == "lara" and texts[1][1].startswith(platform.settings.welcome_message)


async def test_messenger_message_opens_a_conversation(platform: Platform):
    psid = f"psid{uuid.uuid4().hex[:12]}"
    raw = meta_body(fb_text("Buenas, consulta por factura", psid=psid))
    response = await platform.http.post(
        "/webhooks/messenger",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.messenger_app_secret, raw),
        },
    )
    assert response.status_code == 200
    conversation = await _conversation_of(platform, f"messenger:{psid}")
    assert conversation["channel"] == "messenger"
    assert conversation["messages"][0]["text"] == "Buenas, consulta por factura"


async def test_webchat_message_opens_a_read_only_conversation_with_the_contact_data(
    platform: Platform,
):
    body = webchat("Necesito la factura de octubre", name="Julián Peña")
    response = await platform.http.post(
        "/webhooks/webchat",
        json=body,
        headers={"Authorization": f"Bearer {platform.settings.webchat_token}"},
    )
    assert response.status_code == 200
    conversation = await _conversation_of(platform, f"webchat:{body['session_id']}")
    assert conversation["channel"] == "webchat"
    assert conversation["customer_name"] == "Julián Peña"
    reply = await platform.http.post(
        f"/api/conversations/{conversation['conversation_id']}/messages",
        json={"text": "Te la envío por correo"},
        headers=platform.auth("ana", "staff"),
    )
    assert reply.status_code == 409


async def test_ivr_call_with_a_menu_choice_opens_a_call_conversation_with_its_motive(
    platform: Platform,
):
    caller = f"+549{random.randint(10**9, 10**10 - 1)}"
    sid = f"CA{uuid.uuid4().hex}"
    url = "http://testserver/webhooks/ivr"
    for params in (
        twilio_call(sid, From=caller, Caller=caller),
        twilio_call(sid, From=caller, Caller=caller, CallStatus="in-progress", Digits="1"),
    ):
        response = await platform.http.post(
            url,
            content=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(
                    platform.settings.ivr_auth_token, url, params
                ),
            },
        )
        assert response.status_code == 200
        assert "<Response>" in response.text

    async def with_motive() -> dict[str, Any] | None:
        conversation = await _conversation_of(platform, f"ivr:{caller}")
        call = conversation.get("call") or {}
        return conversation if call.get("motive") else None

    conversation = await eventually(with_motive, timeout=30)
    assert conversation["call"]["call_sid"] == sid
    assert conversation["call"]["motive"] == "soporte técnico"
    assert conversation["call"]["city"] == "Cordoba"
