"""The batched message path: a customer's messages applied in delivery order, counted once
even when a crash separates the state write from its effects."""

from __future__ import annotations

import contextlib
from typing import Any

from services.routing.bot import BotReply, Turn
from services.routing.handlers import Routing
from services.routing.holds import HoldTimers
from services.routing.store import Store
from services.routing.timeline import derived_id
from shared.contracts import ContactInfo, InboundMessage
from shared.outbox import EmbeddedOutbox
from shared.secrets import SecretBox
from tests.integration.routing.helpers import conversation, message_stored, new_identity
from tests.support import Platform, eventually


def message(identity: Any, text: str) -> InboundMessage:
    return InboundMessage(
        channel=identity.channel,
        identity=identity,
        contact=ContactInfo(name="Orden Prueba"),
        external_message_id=f"wamid.{text}",
        message_type="text",
        text=text,
    )


async def test_one_customers_fifty_messages_are_applied_in_delivery_order(platform: Platform):
    """Published one after the other with a prefetch of 20: batches of several messages of
    the same customer. Stored order (seq), the listing and what Lara remembers follow the
    delivery order; nothing here sorts."""
    identity = new_identity()
    texts = [f"mensaje {i:02d} {identity.external_id}" for i in range(50)]
    sent = [message(identity, t) for t in texts]
    for m in sent:
        await platform.ctx.bus.publish(m)
    await message_stored(platform, sent[-1].event_id)
    stored = platform.db("routing")["messages"]

    async def all_stored() -> list[dict[str, Any]] | None:
        docs = await stored.find({"identity_key": identity.key, "author": "customer"}).to_list()
        return docs if len(docs) == 50 else None

    docs = await eventually(all_stored)
    by_seq = {d["seq"]: d["text"] for d in docs}
    assert [by_seq[s] for s in sorted(by_seq)] == texts
    cid = docs[0]["conversation_id"]
    view = await conversation(platform, cid)
    customer_lines = [m["text"] for m in view["messages"] if m["author"] == "customer"]
    assert customer_lines == texts
    assert view["message_count"] == len(view["messages"])
    doc = await platform.db("routing")["conversations"].find_one({"_id": cid})
    remembered = [t["text"] for t in doc["bot_memory"] if t["author"] == "customer"]
    assert remembered == texts[-len(remembered) :]


class EchoBot:
    def greet(self) -> BotReply:
        return BotReply(messages=["hola"])

    def open_with(self, incoming: str) -> BotReply:
        return self.greet()

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        return BotReply(messages=[f"eco: {incoming}"])


class CrashAfterWrite(EmbeddedOutbox):
    """A process that dies right after the state write, before any effect is carried out."""

    crashes = 0

    async def flush(self, staged: Any) -> bool:
        if self.crashes:
            self.crashes -= 1
            raise ConnectionError("process died after the write")
        return await super().flush(staged)


async def test_a_redelivery_after_a_crash_between_write_and_effects_counts_once(
    platform: Platform,
):
    db = platform.db("routing")
    store = Store(db, platform.ctx.bus)
    store.effects = CrashAfterWrite(
        store.conversations, platform.ctx.bus, store.effects.registry, name="crashing"
    )
    routing = Routing(
        store, EchoBot(), HoldTimers(db, 60), SecretBox(platform.settings.secrets_key), "UTC"
    )
    identity = new_identity()
    first, second = message(identity, "uno"), message(identity, "dos")
    await routing.inbound.handle_one(first)
    store.effects.crashes = 1  # type: ignore[attr-defined]
    with contextlib.suppress(ConnectionError):  # the crash; the broker redelivers it
        await routing.inbound.handle_one(second)
    await routing.inbound.handle_one(second)  # the redelivery
    await routing.inbound.handle_one(second)  # and once more, for good measure
    cid = (await db["messages"].find_one({"_id": first.event_id}))["conversation_id"]
    doc = await db["conversations"].find_one({"_id": cid})
    messages = await db["messages"].find({"conversation_id": cid}).sort("seq").to_list()
    assert doc["message_count"] == len(messages) == 4  # two customer lines, two of Lara's
    assert [m["seq"] for m in messages] == [0, 1, 2, 3]
    assert [m["text"] for m in messages] == ["uno", "hola", "dos", "eco: dos"]
    assert await db["messages"].find_one({"_id": derived_id(second.event_id, "lara", "0")})
