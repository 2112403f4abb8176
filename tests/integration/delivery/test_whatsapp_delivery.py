"""Replies published on the real broker reach the stand-in Graph API as Meta expects them,
once, and their outcome comes back to routing as a `DeliveryStatus`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.contracts.base import utcnow
from tests.fixtures.graph.standin import GraphStandIn, Reply
from tests.integration.delivery.conftest import PHONE_NUMBER_ID, TEMPLATE, Outcomes
from tests.integration.delivery.helpers import reply
from tests.support import Platform, eventually


async def test_a_reply_reaches_whatsapp_with_the_recipient_and_text_and_sent_comes_back(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Bienvenido a ToWebs, ¿en qué podemos ayudarte? 😀")
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    to = message.identity.external_id.lstrip("+")
    [sent] = graph.accepted(to)
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": "Bienvenido a ToWebs, ¿en qué podemos ayudarte? 😀"},
    }
    assert status["status"] == "sent"
    assert status["external_message_id"] == sent.message_id
    assert status["identity"] == {
        "channel": "whatsapp",
        "external_id": message.identity.external_id,
    }
    assert graph.violations == []
    record = await sending.db("ingest")["deliveries"].find_one({"_id": message.event_id})
    assert record is not None
    assert (record["state"], record["external_ids"]) == ("sent", [sent.message_id])


async def test_a_redelivered_reply_is_not_sent_twice(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Su servicio técnico es ST-000123")
    await sending.ctx.bus.publish(message)
    await outcomes.wait_for(message.event_id)

    # The broker hands the same message over again (a consumer died before its ack, a
    # publisher retried): the same event id arrives twice more.
    await sending.ctx.bus.publish(message)
    await sending.ctx.bus.publish(message)
    later = reply("mensaje testigo")
    await sending.ctx.bus.publish(later)
    await outcomes.wait_for(later.event_id)  # the queue is FIFO: the copies came before

    assert len(graph.attempts(message.identity.external_id.lstrip("+"))) == 1
    # One outcome (a re-publication would carry the same event id, a no-op for routing).
    assert {(e["event_id"], e["status"]) for e in outcomes.of(message.event_id)} == {
        (f"delivery:{message.event_id}:sent", "sent")
    }


async def test_provider_down_for_a_while_delivers_every_reply_once_after_it_returns(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    graph.go_down(2.0)
    messages = [reply(f"Respuesta {i} mientras Meta no responde") for i in range(3)]
    for message in messages:
        await sending.ctx.bus.publish(message)

    for message in messages:
        status = await outcomes.wait_for(message.event_id, timeout=30)
        assert status["status"] == "sent"
    for message in messages:
        to = message.identity.external_id.lstrip("+")
        attempts = graph.attempts(to)
        assert len(graph.accepted(to)) == 1, attempts
        assert [a.status for a in attempts][:1] == [500]  # it really was down for it
    record = await sending.db("ingest")["deliveries"].find_one({"_id": messages[0].event_id})
    assert record is not None and record["attempts"] >= 1


async def test_429_with_retry_after_waits_as_told_then_sends_once(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Aguarde un momento por favor")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.http(429, retry_after="1"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    first, second = graph.attempts(to)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0


async def test_meta_throttling_code_is_retried_not_failed(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Gracias por su paciencia")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.error("130429"), Reply.error("80007"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    assert [a.status for a in graph.attempts(to)] == [400, 400, 200]


async def test_permanent_error_fails_with_the_providers_reason_and_is_not_retried(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Hola, ¿sigue con problemas?")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.error("131026"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "failed"
    assert status["error_code"] == "131026"
    assert "Message undeliverable" in status["reason"]
    assert "not a WhatsApp phone number" in status["reason"]
    assert status["external_message_id"] is None
    await asyncio.sleep(0.5)  # longer than the sweeper's period: nothing tries again
    assert len(graph.attempts(to)) == 1


async def test_window_closed_sends_the_configured_template_with_the_text(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply(
        "Su equipo ya fue reparado",
        author="staff:ana",
        last_inbound_at=utcnow() - timedelta(days=2),
    )
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    [sent] = graph.accepted(message.identity.external_id.lstrip("+"))
    assert sent.body["type"] == "template"
    assert sent.body["template"] == {
        "name": TEMPLATE,
        "language": {"code": "es"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Su equipo ya fue reparado"}]}
        ],
    }


async def test_meta_saying_the_window_closed_falls_back_to_the_template(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    """We did not know when the customer last wrote (None); Meta answers 131047."""
    message = reply("Le escribimos por su consulta")
    to = message.identity.external_id.lstrip("+")
    graph.window_closed.add(to)
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    assert [(a.body["type"], a.status) for a in graph.attempts(to)] == [
        ("text", 400),
        ("template", 200),
    ]


async def test_media_goes_by_link_with_the_text_as_caption(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    from shared.contracts.inbound import Attachment

    message = reply("Factura de noviembre").model_copy(
        update={
            "media": [
                Attachment(
                    kind="document", url="https://cdn.towebs.example/f.pdf", filename="f.pdf"
                )
            ]
        }
    )
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    [sent] = graph.accepted(message.identity.external_id.lstrip("+"))
    assert sent.body["type"] == "document"
    assert sent.body["document"] == {
        "link": "https://cdn.towebs.example/f.pdf",
        "caption": "Factura de noviembre",
        "filename": "f.pdf",
    }
    assert status["external_message_id"] == sent.message_id


async def test_sending_waits_for_nothing_when_the_rate_is_not_reached_and_metrics_count(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("¿Algo más en que podamos ayudarle?")
    await sending.ctx.bus.publish(message)
    await outcomes.wait_for(message.event_id)

    metrics = (await sending.http.get("/metrics")).text
    assert 'cc_outbound_sent_total{channel="whatsapp"}' in metrics
    assert 'cc_outbound_send_seconds_count{channel="whatsapp"}' in metrics
    assert message.event_id not in metrics  # no ids in labels
    ready = (await sending.http.get("/readyz")).json()
    assert ready["delivery"] == {"whatsapp": "sending", "messenger": "sending", "email": "sending"}

    async def counted() -> bool:  # the number's schedule and this recipient's pair schedule
        to = message.identity.external_id.lstrip("+")
        schedules = sending.db("ingest")["send_schedule"]
        number = await schedules.find_one({"_id": f"whatsapp:{PHONE_NUMBER_ID}"})
        pair = await schedules.find_one({"_id": f"pair:whatsapp:{PHONE_NUMBER_ID}:{to}"})
        return number is not None and pair is not None

    await eventually(counted)


async def test_a_slow_answer_within_the_timeout_is_waited_for_and_sent_once(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Respuesta con Meta lento")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.slow(0.5))  # the test platform's timeout is 1 s
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    [sent] = graph.attempts(to)
    assert (status["status"], status["external_message_id"]) == ("sent", sent.message_id)


async def test_an_answer_slower_than_the_timeout_is_retried_and_the_last_id_recorded(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    """A timed-out request may still have been taken by Meta: the retry is the documented
    risk of a duplicate, chosen over losing the reply."""
    message = reply("Respuesta con Meta muy lento")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.slow(2.0))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    assert status["external_message_id"] in {a.message_id for a in graph.accepted(to)}
    metrics = (await sending.http.get("/metrics")).text
    assert 'cc_outbound_retries_total{channel="whatsapp",reason="timeout"}' in metrics


async def test_an_invalid_token_answer_is_retried_not_failed(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    """Meta's 190 means our token, not this reply: keep it until the token works."""
    message = reply("Respuesta con token rechazado una vez")
    to = message.identity.external_id.lstrip("+")
    graph.script(to, Reply.error("190"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    assert [a.status for a in graph.attempts(to)] == [401, 200]


async def test_one_customer_s_replies_arrive_in_order_even_across_an_outage(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    first = reply("1. Bienvenido a ToWebs")
    to = first.identity.external_id
    rest = [reply(f"{i}. seguimos", to=to) for i in range(2, 6)]
    graph.go_down(1.5)
    for message in (first, *rest):
        await sending.ctx.bus.publish(message)

    for message in (first, *rest):
        await outcomes.wait_for(message.event_id, timeout=30)
    texts = [r.body["text"]["body"] for r in graph.accepted(to.lstrip("+"))]
    assert texts == [m.text for m in (first, *rest)]
