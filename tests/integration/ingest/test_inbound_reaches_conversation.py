"""End to end: a signed WhatsApp text becomes a conversation staff can see (via routing)."""

from __future__ import annotations

from typing import Any

from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import uid, wa_text


async def test_signed_whatsapp_text_opens_a_conversation_with_the_message(
    platform: Platform,
) -> None:
    phone = f"54911{uid()[:8].translate(str.maketrans('abcdef', '123456'))}"
    text = f"Hola, no tengo internet ({uid()})"
    raw = meta_body(wa_text(text, phone=phone))
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw),
        },
    )
    assert response.status_code == 200
    staff = platform.auth("ana", "staff")

    async def conversation() -> dict[str, Any] | None:
        listed = await platform.http.get(
            "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=staff
        )
        if listed.status_code != 200 or not listed.json().get("items"):
            return None
        conversation_id = listed.json()["items"][0]["conversation_id"]
        detail = await platform.http.get(f"/api/conversations/{conversation_id}", headers=staff)
        if detail.status_code != 200 or text not in detail.text:
            return None
        body: dict[str, Any] = detail.json()
        return body

    found = await eventually(conversation, timeout=30)
    assert found["conversation_id"]
