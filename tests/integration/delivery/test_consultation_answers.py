"""Answers to "Mi Cuenta" consultations leave by the contact the customer gave: email to a
real SMTP server (parsed back), or WhatsApp to the Graph stand-in; the consultation shows
whether it was sent."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fixtures.graph.smtp import SmtpServer
from tests.fixtures.graph.standin import GraphStandIn, Reply
from tests.integration.delivery.helpers import phone
from tests.support import Platform, eventually

ANSWER = "Hola Íñigo: anulamos la factura duplicada. Atención: el reintegro demora 48 h. ¡Saludos!"


async def consultation(platform: Platform, **contact: str) -> str:
    form = {
        "name": "Íñigo Fernández",
        "document_number": "30.555.777",
        "subject": "Factura duplicada — ¿qué hago?",
        "text": "Me llegaron dos facturas este mes.",
        **contact,
    }
    response = await platform.http.post(
        "/api/consultations",
        json=form,
        headers={"Authorization": f"Bearer {platform.settings.portal_token}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


async def answer(platform: Platform, cid: str, channel: str) -> dict[str, Any]:
    response = await platform.http.post(
        f"/api/consultations/{cid}/answer",
        json={"text": ANSWER, "channel": channel},
        headers=platform.auth("ana", "staff"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def delivery_of(platform: Platform, cid: str, state: str) -> dict[str, Any]:
    async def reported() -> dict[str, Any] | None:
        response = await platform.http.get(f"/api/consultations/{cid}", headers=platform.auth())
        body: dict[str, Any] = response.json()
        return body if body.get("answer_delivery") == state else None

    return await eventually(reported, timeout=20)


async def test_an_email_answer_arrives_utf8_with_accents_and_the_consultation_shows_sent(
    sending: Platform, smtp: SmtpServer
) -> None:
    address = f"inigo-{uuid.uuid4().hex[:8]}@example.com"
    cid = await consultation(sending, email=address)
    answered = await answer(sending, cid, "email")
    assert answered["answer_delivery"] == "pending"

    shown = await delivery_of(sending, cid, "sent")
    [mail] = smtp.mailbox.parsed(address)
    assert mail["To"] == f"Íñigo Fernández <{address}>"
    assert mail["From"] == "Soporte ToWebs <soporte@towebs.example>"
    assert mail["Subject"] == "Re: Factura duplicada — ¿qué hago?"
    assert mail["X-Consultation-Id"] == cid
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == ANSWER
    assert shown["answer_external_id"] == mail["Message-ID"]
    assert shown["answer_delivery_error"] is None


async def test_an_email_the_server_refuses_shows_failed_with_the_reason(
    sending: Platform, smtp: SmtpServer
) -> None:
    address = f"nadie-{uuid.uuid4().hex[:8]}@example.com"
    smtp.mailbox.refuse.add(address)
    cid = await consultation(sending, email=address)
    await answer(sending, cid, "email")

    shown = await delivery_of(sending, cid, "failed")
    assert "550" in shown["answer_delivery_error"]
    assert "User unknown" in shown["answer_delivery_error"]
    assert smtp.mailbox.parsed(address) == []


async def test_a_greylisted_email_is_tried_again_and_arrives(
    sending: Platform, smtp: SmtpServer
) -> None:
    """A 4xx answer to the recipient is transient (RFC 5321): tried again, not failed."""
    address = f"gris-{uuid.uuid4().hex[:8]}@example.com"
    smtp.mailbox.greylist.add(address)
    cid = await consultation(sending, email=address)
    await answer(sending, cid, "email")

    shown = await delivery_of(sending, cid, "sent")
    assert address in smtp.mailbox.greylisted  # the first attempt was turned away
    [mail] = smtp.mailbox.parsed(address)
    assert mail.get_content().strip() == ANSWER
    assert shown["answer_delivery_error"] is None


async def test_a_whatsapp_answer_reaches_the_phone_the_customer_gave(
    sending: Platform, graph: GraphStandIn
) -> None:
    number = phone()  # "+54911…"
    typed = f"{number[:3]} 9 11 {number[6:10]}-{number[10:]}"  # as a person types it
    cid = await consultation(sending, phone=typed)
    await answer(sending, cid, "whatsapp")

    shown = await delivery_of(sending, cid, "sent")
    [sent] = graph.accepted(number.lstrip("+"))
    assert sent.body["text"]["body"] == ANSWER
    assert shown["answer_external_id"] == sent.message_id


async def test_a_whatsapp_answer_outside_the_window_goes_as_the_template(
    sending: Platform, graph: GraphStandIn
) -> None:
    """A portal customer usually never wrote on WhatsApp: Meta answers 131047."""
    number = phone()
    graph.window_closed.add(number.lstrip("+"))
    cid = await consultation(sending, phone=number)
    await answer(sending, cid, "whatsapp")

    await delivery_of(sending, cid, "sent")
    kinds = [(a.body["type"], a.status) for a in graph.attempts(number.lstrip("+"))]
    assert kinds == [("text", 400), ("template", 200)]


async def test_an_invalid_whatsapp_number_shows_failed(
    sending: Platform, graph: GraphStandIn
) -> None:
    number = phone()
    graph.script(number.lstrip("+"), Reply.error("131026"))
    cid = await consultation(sending, phone=number)
    await answer(sending, cid, "whatsapp")

    shown = await delivery_of(sending, cid, "failed")
    assert "Message undeliverable" in shown["answer_delivery_error"]


async def test_an_answer_by_phone_sends_nothing(sending: Platform) -> None:
    cid = await consultation(sending, phone=phone())
    answered = await answer(sending, cid, "phone")
    assert answered["answer_delivery"] == "not_sent"


async def _convert(platform: Platform, cid: str) -> dict[str, Any]:
    response = await platform.http.post(
        f"/api/consultations/{cid}/service",
        json={"reason": "Visita técnica"},
        headers=platform.auth("ana", "staff"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _number_delivery(platform: Platform, cid: str, state: str) -> dict[str, Any]:
    async def reported() -> dict[str, Any] | None:
        response = await platform.http.get(f"/api/consultations/{cid}", headers=platform.auth())
        body: dict[str, Any] = response.json()
        return body if body.get("number_delivery") == state else None

    return await eventually(reported, timeout=20)


async def test_a_consultation_turned_into_a_service_emails_the_customer_its_number_once(
    sending: Platform, smtp: SmtpServer
) -> None:
    address = f"nro-{uuid.uuid4().hex[:8]}@example.com"
    cid = await consultation(sending, email=address)
    await answer(sending, cid, "email")
    await delivery_of(sending, cid, "sent")
    converted = await _convert(sending, cid)
    number = converted["service"]["number"]
    assert converted["consultation"]["number_delivery"] == "pending"
    assert converted["consultation"]["number_channel"] == "email"

    shown = await _number_delivery(sending, cid, "sent")
    answer_mail, number_mail = smtp.mailbox.parsed(address)
    assert answer_mail["Subject"] == "Re: Factura duplicada — ¿qué hago?"
    assert number_mail["Subject"] == f"Servicio técnico {number}"
    assert number_mail.get_content().strip() == f"Tu número de servicio técnico es {number}"
    # The staff member's answer stays what the consultation shows as its answer.
    assert shown["answer_text"] == ANSWER and shown["answer_delivery"] == "sent"
    assert shown["status"] == "genero_servicio_tecnico"
    assert len(smtp.mailbox.parsed(address)) == 2  # the report re-published nothing to send


async def test_a_phone_only_consultation_gets_its_service_number_on_whatsapp(
    sending: Platform, graph: GraphStandIn
) -> None:
    number = phone()
    cid = await consultation(sending, phone=number)
    service = (await _convert(sending, cid))["service"]["number"]
    await _number_delivery(sending, cid, "sent")
    [sent] = graph.accepted(number.lstrip("+"))
    assert sent.body["text"]["body"] == f"Tu número de servicio técnico es {service}"
