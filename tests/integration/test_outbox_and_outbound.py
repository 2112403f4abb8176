"""What a service owes the bus reaches the broker: events a crash left staged in the outbox
are relayed, and replies to customers are published for the channel connectors."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.contracts import Identity, OutboundMessage
from shared.outbox import Outbox
from tests.bus_probe import bus_probe
from tests.integration.routing.helpers import new_identity, open_conversation
from tests.support import Platform


def _reply(text: str) -> OutboundMessage:
    return OutboundMessage(
        conversation_id=f"conv-{uuid.uuid4().hex[:12]}",
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id="+5493515550101"),
        author="staff:eva",
        text=text,
    )


async def test_the_relay_publishes_what_a_crash_left_staged_exactly_once(platform: Platform):
    db = platform.ctx.mongo.get_database(platform.settings.db_name("outbox_test"))
    outbox = Outbox(db, platform.ctx.bus, {"OutboundMessage": OutboundMessage})
    await outbox.ensure_indexes()
    event = _reply("Te escribo por la visita del técnico")
    async with bus_probe(platform.settings, "outbound.#") as probe:
        # The handler staged its event, then the process died before publishing it.
        await outbox.stage([event])
        # An event staged a moment ago may still be on its way from its handler: left alone.
        assert await outbox.relay_once(older_than=timedelta(minutes=5)) == 0
        assert await outbox.relay_once(older_than=timedelta(0)) == 1
        [message] = await probe.wait_for(event_id=event.event_id)
        assert message["_routing_key"] == "outbound.whatsapp.message"
        assert message["text"] == "Te escribo por la visita del técnico"
        assert message["_message_id"] == event.event_id

        # Published once: neither the relay nor a redelivered cause staging it again sends it.
        assert await outbox.relay_once(older_than=timedelta(0)) == 0
        await outbox.stage([event])
        assert await outbox.relay_once(older_than=timedelta(0)) == 0
        later = _reply("marca de fin")
        await outbox.publish([later])
        await probe.wait_for(event_id=later.event_id)
        assert len(probe.matching(event_id=event.event_id)) == 1


async def test_lara_s_welcome_and_a_staff_reply_reach_the_broker_for_the_connector(
    platform: Platform,
):
    identity = new_identity("whatsapp")
    async with bus_probe(platform.settings, "outbound.#") as probe:
        cid = await open_conversation(platform, identity, "hola, necesito ayuda")
        [welcome] = await probe.wait_for(conversation_id=cid, author="lara")
        # Lara's first turn is one message: the welcome, then her answer.
        assert welcome["text"].startswith(platform.settings.welcome_message)
        assert welcome["_routing_key"] == "outbound.whatsapp.message"
        assert welcome["identity"] == {"channel": "whatsapp", "external_id": identity.external_id}

        response = await platform.http.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "Hola, soy Eva. Ya reviso tu línea."},
            headers=platform.auth("eva", "staff"),
        )
        assert response.status_code == 200, response.text
        [reply] = await probe.wait_for(conversation_id=cid, author="staff:eva")
        assert reply["text"] == "Hola, soy Eva. Ya reviso tu línea."
        assert reply["_routing_key"] == "outbound.whatsapp.message"
        assert reply["event_id"] == response.json()["message_id"]
