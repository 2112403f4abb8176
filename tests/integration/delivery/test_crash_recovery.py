"""A replica died in the middle of a delivery: another one finishes it, without sending
again what the provider had already accepted (its id was recorded before the ack)."""

from __future__ import annotations

from datetime import timedelta

from shared.contracts.base import utcnow
from tests.fixtures.graph.standin import GraphStandIn
from tests.integration.delivery.conftest import Outcomes
from tests.integration.delivery.helpers import reply
from tests.support import Platform


async def abandoned(
    platform: Platform, message_id: str, body: dict[str, object], parts: list[str]
) -> None:
    """The record a replica leaves when it dies mid-send: `sending`, lease expired."""
    long_ago = utcnow() - timedelta(minutes=5)
    await platform.db("ingest")["deliveries"].insert_one(
        {
            "_id": message_id,
            "kind": "message",
            "channel": "whatsapp",
            "message": body,
            "state": "sending",
            "lease_until": long_ago,
            "attempts": 0,
            "parts": parts,
            "external_ids": parts,
            "created_at": long_ago,
            "updated_at": long_ago,
            "result_published": False,
        }
    )


async def test_a_send_abandoned_before_the_provider_answered_is_finished_by_the_sweeper(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Respuesta que quedó a medio enviar")
    await abandoned(sending, message.event_id, message.model_dump(mode="json"), [])

    status = await outcomes.wait_for(message.event_id)
    [sent] = graph.accepted(message.identity.external_id.lstrip("+"))
    assert (status["status"], status["external_message_id"]) == ("sent", sent.message_id)


async def test_a_send_the_provider_accepted_before_the_crash_is_not_sent_again(
    sending: Platform, graph: GraphStandIn, outcomes: Outcomes
) -> None:
    message = reply("Respuesta ya aceptada por Meta")
    await abandoned(
        sending, message.event_id, message.model_dump(mode="json"), ["wamid.before-crash"]
    )
    # ... and the broker redelivers the message the dead replica never acked.
    await sending.ctx.bus.publish(message)

    status = await outcomes.wait_for(message.event_id)
    assert (status["status"], status["external_message_id"]) == ("sent", "wamid.before-crash")
    later = reply("testigo")
    await sending.ctx.bus.publish(later)
    await outcomes.wait_for(later.event_id)
    assert graph.attempts(message.identity.external_id.lstrip("+")) == []


async def test_parked_deliveries_are_counted_per_channel_for_the_pending_gauge(
    sending: Platform,
) -> None:
    from services.ingest.delivery_store import DeliveryStore

    store = DeliveryStore(sending.db("ingest"))
    message = reply("aparcada", channel="messenger")
    later = utcnow() + timedelta(hours=1)
    await sending.db("ingest")["deliveries"].insert_one(
        {
            "_id": message.event_id,
            "kind": "message",
            "channel": "messenger",
            "message": message.model_dump(mode="json"),
            "state": "retrying",
            "next_attempt_at": later,
            "attempts": 3,
            "parts": [],
            "external_ids": [],
            "created_at": utcnow(),
            "updated_at": utcnow(),
            "result_published": False,
        }
    )
    try:
        assert (await store.pending_by_channel()).get("messenger", 0) >= 1
    finally:
        await sending.db("ingest")["deliveries"].delete_one({"_id": message.event_id})
