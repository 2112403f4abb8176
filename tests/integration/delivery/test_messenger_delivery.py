"""Messenger replies: RESPONSE inside the 24-hour window, the HUMAN_AGENT tag after it for
a human, nothing after 7 days; Meta's refusals end failed with their reason."""

from __future__ import annotations

from datetime import timedelta

from shared.contracts.base import utcnow
from tests.fixtures.graph.standin import GraphStandIn, Reply
from tests.integration.delivery.conftest import Outcomes
from tests.integration.delivery.helpers import reply
from tests.support import Platform


async def test_a_reply_inside_the_window_goes_as_response(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply(
        "¡Hola! Soy Lara, ¿en qué te ayudo?", channel="messenger", last_inbound_at=utcnow()
    )
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    [sent] = graph.accepted(message.identity.external_id)
    assert sent.body == {
        "recipient": {"id": message.identity.external_id},
        "messaging_type": "RESPONSE",
        "message": {"text": "¡Hola! Soy Lara, ¿en qué te ayudo?"},
    }
    assert (status["status"], status["external_message_id"]) == ("sent", sent.message_id)
    assert graph.violations == []


async def test_a_staff_reply_after_24_hours_goes_with_the_human_agent_tag(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply(
        "Disculpe la demora, ya revisamos su caso",
        channel="messenger",
        author="staff:ana",
        last_inbound_at=utcnow() - timedelta(days=3),
    )
    await sending.ctx.bus.publish(message)

    await outcomes.wait_for(message.event_id)
    [sent] = graph.accepted(message.identity.external_id)
    assert (sent.body["messaging_type"], sent.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_lara_after_24_hours_or_anyone_after_7_days_is_refused_without_a_call(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    lara = reply("¿Sigue ahí?", channel="messenger", last_inbound_at=utcnow() - timedelta(days=2))
    staff = reply(
        "Le escribimos por su reclamo",
        channel="messenger",
        author="staff:ana",
        last_inbound_at=utcnow() - timedelta(days=8),
    )
    await sending.ctx.bus.publish(lara)
    await sending.ctx.bus.publish(staff)

    for message in (lara, staff):
        status = await outcomes.wait_for(message.event_id)
        assert (status["status"], status["error_code"]) == ("failed", "window_closed")
        assert graph.attempts(message.identity.external_id) == []


async def test_meta_refusing_outside_the_window_retries_a_human_reply_with_the_tag(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Le contactamos por su consulta", channel="messenger", author="staff:ana")
    graph.script(message.identity.external_id, Reply.error("2018278"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "sent"
    tried = [
        (a.body["messaging_type"], a.status) for a in graph.attempts(message.identity.external_id)
    ]
    assert tried == [("RESPONSE", 400), ("MESSAGE_TAG", 200)]


async def test_a_person_not_available_ends_failed_with_the_reason(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Hola", channel="messenger", last_inbound_at=utcnow())
    graph.script(message.identity.external_id, Reply.error("551"))
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert status["status"] == "failed"
    assert "isn't available right now" in status["reason"]
    assert status["errors"][0]["reason"] == "recipient_unavailable"
    assert "isn't available right now" in status["errors"][0]["title"]


async def test_a_reply_longer_than_messenger_allows_arrives_in_ordered_parts(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    """Messenger refuses a text over 2,000 characters (the stand-in too): a 3,500-character
    reply arrives whole, as parts within the limit, in reading order."""
    sentences = [f"Paso {n}: revisamos el equipo número {n} de su instalación." for n in range(60)]
    text = " ".join(sentences)
    message = reply(text, channel="messenger", last_inbound_at=utcnow())
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    sent = [r.body["message"]["text"] for r in graph.accepted(message.identity.external_id)]
    assert len(sent) == 2 and all(len(part) <= 2000 for part in sent)
    assert " ".join(sent) == text
    assert status["status"] == "sent"
    assert graph.violations == []
