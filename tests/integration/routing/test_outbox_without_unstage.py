"""Routing's carried-out effects cost no write of their own: the conversation's next commit
replaces them, an idle conversation is emptied once by the relay, and the relay republishes
nothing this process carried out."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.routing.handlers import Routing
from services.routing.holds import HoldTimers
from services.routing.store import Store
from shared.outbox import unpack
from shared.secrets import SecretBox
from tests.integration.routing.helpers import new_identity
from tests.integration.routing.test_message_path import EchoBot, message
from tests.support import Platform


async def test_the_next_commit_replaces_carried_out_effects_and_idle_ones_are_emptied_once(
    platform: Platform,
):
    # A database of its own: the relay scans every conversation of its database, and the
    # platform's routing database holds other tests' conversations.
    db = platform.ctx.mongo.get_database(
        platform.settings.db_name(f"routing_{uuid.uuid4().hex[:8]}")
    )
    store = Store(db, platform.ctx.bus)
    await store.ensure_indexes()
    routing = Routing(
        store, EchoBot(), HoldTimers(db, 60), SecretBox(platform.settings.secrets_key), "UTC"
    )
    identity = new_identity()
    first, second, third = (message(identity, t) for t in ("uno", "dos", "tres"))

    await routing.inbound.handle_one(first)
    cid = (await db["messages"].find_one({"_id": first.event_id}))["conversation_id"]
    doc = await db["conversations"].find_one({"_id": cid})
    # Carried out (the message is stored), and still in the document: no unstage write.
    assert doc["outbox_pending"] and unpack(doc["outbox"])
    assert store.effects.carried_out(cid, doc["version"])

    for later in (second, third):
        before = doc["version"]
        await routing.inbound.handle_one(later)
        doc = await db["conversations"].find_one({"_id": cid})
        assert doc["version"] == before + 1  # one write: the commit
        ids = {e["id"] for e in unpack(doc["outbox"])}
        # Only this commit's effects remain: the previous ones were replaced in the write.
        assert any(later.event_id in i for i in ids)
        assert not any(first.event_id in i for i in ids)

    # The relay republishes nothing this process carried out, however old.
    assert await store.effects.relay_once(older_than=timedelta(0)) == 0
    # Idle past `unstage_after`: emptied once, in one command, by the relay's run.
    store.effects.unstage_after = timedelta(0)
    assert await store.effects.unstage_idle() == 1
    doc = await db["conversations"].find_one({"_id": cid})
    assert doc["outbox"] == [] and "outbox_pending" not in doc
    assert await store.effects.unstage_idle() == 0
    messages = await db["messages"].count_documents({"conversation_id": cid})
    assert messages == 6  # three lines, three answers: every effect was carried out
    await platform.ctx.mongo.drop_database(db.name)
