"""A password typed in a chat is never on the bus in cleartext: what the broker delivers to a
queue bound to the exchange holds the masked text and the original only sealed."""

from __future__ import annotations

import json
from typing import Any

from shared.contracts.inbound import InboundMessage
from shared.secrets import MASK, SecretBox
from tests.integration.ingest.conftest import Probe
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import uid, wa_text, webchat


def typed_password() -> tuple[str, str]:
    password = f"Rio{uid()[:6]}!"
    return password, f"El usuario es vsanchez y la contraseña es: {password}"


async def delivered(probe: Probe, event_id: str) -> tuple[bytes, dict[str, Any]]:
    """The raw bytes the broker delivered for `event_id`, and their JSON."""

    async def found() -> tuple[bytes, dict[str, Any]] | None:
        for body in probe.bodies:
            decoded = json.loads(body)
            if decoded.get("event_id") == event_id:
                return body, decoded
        return None

    return await eventually(found, timeout=15)


async def post_whatsapp(platform: Platform, payload: dict[str, Any]) -> None:
    raw = meta_body(payload)
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw),
        },
    )
    assert response.status_code == 200, response.text


async def test_a_password_in_a_whatsapp_message_is_masked_on_the_bus_and_travels_sealed(
    platform: Platform, probe: Probe
) -> None:
    password, typed = typed_password()
    wamid = f"wamid.{uid()}"
    await post_whatsapp(platform, wa_text(typed, wamid=wamid))
    body, event = await delivered(probe, f"wa:106540352242922:{wamid}")
    assert password.encode() not in body
    assert password.rstrip("!").encode() not in body
    assert event["text"] == f"El usuario es vsanchez y la contraseña es: {MASK}"
    box = SecretBox(platform.settings.secrets_key)
    assert box.open(event["sealed_text"]) == typed
    assert InboundMessage.model_validate(event).opened(box).text == typed


async def test_a_password_in_the_webchat_transcript_is_masked_on_the_bus(
    platform: Platform, probe: Probe
) -> None:
    password, typed = typed_password()
    body = webchat(
        f"pin: {password[3:9]}",
        transcript=[
            {"author": "bot", "text": "Hola, soy Lara. ¿En qué te ayudo?"},
            {"author": "customer", "text": typed},
        ],
    )
    headers = {"Authorization": f"Bearer {platform.settings.webchat_token}"}
    response = await platform.http.post("/webhooks/webchat", json=body, headers=headers)
    assert response.status_code == 200, response.text
    raw, event = await delivered(probe, f"wc:{body['session_id']}:{body['message_id']}")
    assert password.encode() not in raw
    assert password[3:9].encode() not in raw
    box = SecretBox(platform.settings.secrets_key)
    opened = InboundMessage.model_validate(event).opened(box)
    assert opened.text == f"pin: {password[3:9]}"
    assert [line.text for line in opened.transcript] == ["Hola, soy Lara. ¿En qué te ayudo?", typed]


async def test_the_holder_still_reveals_what_the_customer_typed_through_ingest(
    platform: Platform,
) -> None:
    password, typed = typed_password()
    phone = f"54911{uid()[:8].translate(str.maketrans('abcdef', '123456'))}"
    wamid = f"wamid.{uid()}"
    await post_whatsapp(platform, wa_text(typed, wamid=wamid, phone=phone))
    staff = platform.auth("sealer", "staff")

    async def stored() -> dict[str, Any] | None:
        listed = await platform.http.get(
            "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=staff
        )
        items = listed.json().get("items") if listed.status_code == 200 else None
        if not items:
            return None
        detail = await platform.http.get(
            f"/api/conversations/{items[0]['conversation_id']}", headers=staff
        )
        messages = detail.json().get("messages", []) if detail.status_code == 200 else []
        mine = [m for m in messages if m["message_id"].endswith(wamid)]
        return (
            {"conversation_id": items[0]["conversation_id"], "message": mine[0]} if mine else None
        )

    found = await eventually(stored, timeout=30)
    assert password not in json.dumps(found)
    cid, message = found["conversation_id"], found["message"]
    taken = await platform.http.post(f"/api/conversations/{cid}/take", headers=staff)
    assert taken.status_code == 200
    revealed = await platform.http.post(
        f"/api/conversations/{cid}/messages/{message['message_id']}/reveal", headers=staff
    )
    assert revealed.status_code == 200
    assert revealed.json()["text"] == typed
