"""The 24-hour window seen from staff: routing refuses a WhatsApp reply the provider would
refuse (409, "template"), and otherwise tells the connector when the customer last wrote
so a late reply goes as the configured template. Both need routing to track the
customer's last inbound time (routing's reply refuses it with 409)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.contracts.base import utcnow
from tests.fixtures.graph.standin import GraphStandIn
from tests.integration.delivery.conftest import TEMPLATE
from tests.integration.delivery.test_end_to_end import (
    conversation_of,
    new_phone,
    signed_whatsapp,
)
from tests.support import Platform, eventually
from tests.unit.ingest.payloads import wa_text


async def customer_wrote_two_days_ago(platform: Platform, phone: str) -> str:
    await signed_whatsapp(platform, wa_text("Hola", phone=phone))
    conversation = await conversation_of(platform, phone)
    cid = str(conversation["conversation_id"])
    # Lara has greeted (her reply was built before we age the conversation).
    staff = platform.auth("ana", "staff")

    async def greeted() -> bool:
        detail = await platform.http.get(f"/api/conversations/{cid}", headers=staff)
        return any(m["author"] == "lara" for m in detail.json()["messages"])

    await eventually(greeted, timeout=15)
    await platform.db("routing")["conversations"].update_one(
        {"_id": cid}, {"$set": {"last_inbound_at": utcnow() - timedelta(days=2)}}
    )
    return cid


async def staff_reply(platform: Platform, cid: str, text: str) -> Any:
    return await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": text},
        headers=platform.auth("ana", "staff"),
    )


async def test_a_whatsapp_reply_after_24_hours_without_a_template_is_409(
    platform: Platform,
) -> None:
    """The session platform has no WHATSAPP_TEMPLATE_NAME."""
    cid = await customer_wrote_two_days_ago(platform, new_phone())
    response = await staff_reply(platform, cid, "¿Sigue con el problema?")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "template_required"
    assert "plantilla" in error["message"]


async def test_a_whatsapp_reply_after_24_hours_goes_as_the_configured_template(
    sending: Platform, graph: GraphStandIn
) -> None:
    phone = new_phone()
    cid = await customer_wrote_two_days_ago(sending, phone)
    response = await staff_reply(sending, cid, "Ya reparamos su conexión")
    assert response.status_code == 200, response.text

    async def template_sent() -> list[Any]:
        return [
            r
            for r in graph.accepted(phone)
            if r.body["type"] == "template"
            and r.body["template"]["components"][0]["parameters"][0]["text"]
            == "Ya reparamos su conexión"
        ]

    [sent] = await eventually(template_sent, timeout=15)
    assert sent.body["template"]["name"] == TEMPLATE
    assert sent.body["template"]["language"] == {"code": "es"}
    # Nothing was tried as free text first: routing said when the customer last wrote.
    assert not any(
        r.body.get("text", {}).get("body") == "Ya reparamos su conexión"
        for r in graph.attempts(phone)
    )


async def test_a_multi_line_reply_after_24_hours_goes_as_a_template_meta_accepts(
    sending: Platform, graph: GraphStandIn
) -> None:
    """Meta refuses a template parameter with a new line, a tab or 5+ spaces; the stand-in
    enforces it, so the reply must arrive as one valid line."""
    phone = new_phone()
    cid = await customer_wrote_two_days_ago(sending, phone)
    text = "Hola:\n\nYa reparamos su conexión.\tSi sigue sin servicio,     avísenos."
    response = await staff_reply(sending, cid, text)
    assert response.status_code == 200, response.text

    async def template_sent() -> list[Any]:
        return [r for r in graph.accepted(phone) if r.body["type"] == "template"]

    [sent] = await eventually(template_sent, timeout=15)
    [parameter] = sent.body["template"]["components"][0]["parameters"]
    assert parameter["text"] == (
        "Hola: / Ya reparamos su conexión. Si sigue sin servicio, avísenos."
    )
    assert not [v for v in graph.violations if "template parameter" in v]
