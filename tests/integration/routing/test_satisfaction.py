"""Customer satisfaction on the real broker and database: the question goes out with the
close, a score answers it on the closed conversation, anything else opens a new one."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY

from services.routing.domain import Actor
from services.routing.handlers import Routing
from services.routing.holds import HoldTimers
from services.routing.satisfaction import SURVEY, Survey
from services.routing.store import Store
from shared.contracts import CallEvent, Identity
from shared.secrets import SecretBox
from tests.integration.routing.helpers import (
    conversation,
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
)
from tests.integration.routing.test_message_path import CrashAfterWrite, EchoBot, message
from tests.support import Platform, eventually

QUESTION = "¿Cómo calificarías la atención que recibiste? Respondé con un número del 1 al 5."


def answers(channel: str = "whatsapp") -> float:
    return (
        REGISTRY.get_sample_value("cc_routing_satisfaction_score_count", {"channel": channel})
        or 0.0
    )


async def close(platform: Platform, cid: str) -> dict[str, Any]:
    response = await platform.http.post(f"/api/conversations/{cid}/close", headers=platform.auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["conversation"]
    return body


async def conversations_of(platform: Platform, identity: Identity) -> list[dict[str, Any]]:
    listed = await platform.http.get(
        "/api/conversations", params={"identity": identity.key}, headers=platform.auth()
    )
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


class Outbound:
    """Replies published for the connectors (`outbound.#`), read from a queue bound to the
    platform's real exchange."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self.queue = queue
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def drain(self) -> list[tuple[str, dict[str, Any]]]:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            self.seen.append((message.routing_key or "", json.loads(message.body)))
        return self.seen

    async def to(self, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(k, b) for k, b in await self.drain() if b["conversation_id"] == conversation_id]


@pytest.fixture
async def outbound(platform: Platform) -> AsyncIterator[Outbound]:
    connection = await aio_pika.connect(platform.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(platform.ctx.bus.exchange.name)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="outbound.#")
        yield Outbound(queue)


async def test_closing_a_whatsapp_conversation_asks_the_question_in_the_same_write(
    platform: Platform, outbound: Outbound
):
    cid = await open_conversation(platform, new_identity("whatsapp"))
    closed = await close(platform, cid)
    # Written with the close: the API's answer already has it.
    assert closed["status"] == "cerrada"
    assert closed["satisfaction_asked_at"] is not None
    assert closed["satisfaction"] is None

    async def question() -> list[tuple[str, dict[str, Any]]]:
        return [(k, b) for k, b in await outbound.to(cid) if b["author"] == SURVEY]

    [(routing_key, body)] = await eventually(question)
    assert routing_key == "outbound.whatsapp.message"
    assert body["text"] == QUESTION
    view = await conversation(platform, cid)
    asked = [m for m in view["messages"] if m["author"] == SURVEY]
    assert [m["text"] for m in asked] == [QUESTION]
    # The preview stays the chat's last line, not the survey.
    assert view["last_message_preview"] != QUESTION
    changes = [e["change"] for e in view["events"] if e["action"] == "status_changed"]
    assert changes == ["satisfaction_asked"]


async def test_a_score_is_stored_on_the_closed_conversation_and_opens_nothing(
    platform: Platform, outbound: Outbound
):
    identity = new_identity("whatsapp")
    cid = await open_conversation(platform, identity)
    await close(platform, cid)
    unread = (await conversation(platform, cid))["unread"]
    before = answers()
    msg = await customer_writes(platform, identity, "4")
    stored = await message_stored(platform, msg.event_id)
    assert stored["conversation_id"] == cid

    view = await conversation(platform, cid)
    assert view["status"] == "cerrada"
    assert view["satisfaction"]["score"] == 4
    assert view["satisfaction"]["answered_at"]
    assert [c["conversation_id"] for c in await conversations_of(platform, identity)] == [cid]
    assert answers() == before + 1
    assert view["unread"] == unread  # an answer is not a chat line to read

    async def thanked() -> list[dict[str, Any]]:
        sent = [b for _, b in await outbound.to(cid)]
        return [b for b in sent if b["text"] == platform.settings.csat_thanks]

    assert len(await eventually(thanked)) == 1


async def test_stars_and_words_answer_too(platform: Platform):
    identity = new_identity("messenger")
    cid = await open_conversation(platform, identity)
    await close(platform, cid)
    msg = await customer_writes(platform, identity, "⭐⭐⭐⭐⭐")
    assert (await message_stored(platform, msg.event_id))["conversation_id"] == cid
    assert (await conversation(platform, cid))["satisfaction"]["score"] == 5


async def test_anything_else_opens_a_new_conversation_and_the_question_is_void(
    platform: Platform,
):
    identity = new_identity("whatsapp")
    cid = await open_conversation(platform, identity)
    await close(platform, cid)
    hello = await customer_writes(platform, identity, "hola")
    opened = (await message_stored(platform, hello.event_id))["conversation_id"]
    assert opened != cid
    # The new conversation is open: a number now is a chat line in it, not an answer.
    four = await customer_writes(platform, identity, "4")
    assert (await message_stored(platform, four.event_id))["conversation_id"] == opened
    assert (await conversation(platform, cid))["satisfaction"] is None


async def test_a_redelivered_answer_is_stored_and_counted_once(platform: Platform):
    identity = new_identity("whatsapp")
    cid = await open_conversation(platform, identity)
    await close(platform, cid)
    before = answers()
    msg = await customer_writes(platform, identity, "3")
    await message_stored(platform, msg.event_id)
    await platform.ctx.bus.publish(msg)  # the broker delivers it again
    await platform.ctx.bus.publish(msg)
    # A marker after the redeliveries: once it is applied, they were too (one partition).
    marker = await customer_writes(platform, identity, "otra consulta")
    opened = (await message_stored(platform, marker.event_id))["conversation_id"]
    assert opened != cid
    view = await conversation(platform, cid)
    assert [m["message_id"] for m in view["messages"]].count(msg.event_id) == 1
    assert view["satisfaction"]["score"] == 3
    assert answers() == before + 1
    assert [c["conversation_id"] for c in await conversations_of(platform, identity)].count(
        cid
    ) == 1
    assert len(await conversations_of(platform, identity)) == 2


async def test_a_phone_call_is_never_asked(platform: Platform, outbound: Outbound):
    identity = Identity(channel="ivr", external_id=f"+54911{uuid.uuid4().int % 10**8:08d}")
    call = CallEvent(identity=identity, call_sid=f"CA{uuid.uuid4().hex}", step="incoming")
    await platform.ctx.bus.publish(call)
    [item] = await eventually(lambda: conversations_of(platform, identity))
    closed = await close(platform, item["conversation_id"])
    assert closed["satisfaction_asked_at"] is None
    view = await conversation(platform, item["conversation_id"])
    assert not [m for m in view["messages"] if m["author"] == SURVEY]
    assert not await outbound.to(item["conversation_id"])


async def test_with_no_channel_set_nothing_is_asked_and_a_number_opens_a_conversation(
    platform: Platform,
):
    """CSAT_CHANNELS empty: the close asks nothing, and the customer's "5" is a new chat."""
    settings = platform.settings.model_copy(update={"csat_channels": ""})
    survey = Survey.from_settings(settings)
    assert not survey.enabled
    db = platform.db("routing")
    routing = Routing(
        Store(db, platform.ctx.bus),
        EchoBot(),
        HoldTimers(db, 60),
        SecretBox(settings.secrets_key),
        settings.tz,
        survey=survey,
    )
    identity = new_identity("whatsapp")
    cid = await open_conversation(platform, identity)
    closed = await routing.close(cid, Actor("staff:ana"))
    assert closed.get("satisfaction_asked_at") is None
    assert not [m for m in closed.get("outbox") or [] if SURVEY in str(m)]
    view = await conversation(platform, cid)
    assert not [m for m in view["messages"] if m["author"] == SURVEY]
    five = await customer_writes(platform, identity, "5")
    assert (await message_stored(platform, five.event_id))["conversation_id"] != cid
    assert (await conversation(platform, cid))["satisfaction"] is None


async def test_an_answer_redelivered_after_a_crash_before_its_effects_is_applied_once(
    platform: Platform,
):
    """The answer's write is done, its effects (the stored message, the thanks, the event)
    are not: the redelivery finds them staged on the closed conversation and carries them
    out, instead of taking the number for a new chat or answering again."""
    db = platform.db("routing")
    store = Store(db, platform.ctx.bus)
    store.effects = CrashAfterWrite(
        store.conversations, platform.ctx.bus, store.effects.registry, name="crashing"
    )
    routing = Routing(
        store,
        EchoBot(),
        HoldTimers(db, 60),
        SecretBox(platform.settings.secrets_key),
        "UTC",
        survey=Survey.from_settings(platform.settings),
    )
    identity = new_identity("whatsapp")
    opening = message(identity, "hola")
    await routing.inbound.handle_one(opening)
    cid = (await db["messages"].find_one({"_id": opening.event_id}))["conversation_id"]
    await routing.close(cid, Actor("staff:ana"))
    before = answers()
    answer = message(identity, "2")
    store.effects.crashes = 1  # type: ignore[attr-defined]
    with contextlib.suppress(ConnectionError):  # the crash; the broker redelivers it
        await routing.inbound.handle_one(answer)
    await routing.inbound.handle_one(answer)  # the redelivery
    await routing.inbound.handle_one(answer)  # and once more
    doc = await db["conversations"].find_one({"_id": cid})
    assert doc["satisfaction"]["score"] == 2
    assert await db["messages"].count_documents({"_id": answer.event_id}) == 1
    assert await db["messages"].count_documents({"conversation_id": cid, "survey": True}) == 3
    assert await db["conversations"].count_documents({"identity_key": identity.key}) == 1
    assert answers() == before + 1
