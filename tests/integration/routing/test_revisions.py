"""A customer edits or deletes a WhatsApp message (signed webhooks through ingest, then
routing): the original shows the edit or that it was deleted; neither is a new message,
opens a conversation or makes Lara answer, and a redelivery changes nothing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

from services.routing.store import Store
from tests.support import Platform, eventually, meta_body, meta_signature
from tests.unit.ingest.payloads import channel_fixture

FIXTURE = channel_fixture("whatsapp/revisions.json")


def payload(name: str, ids: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(FIXTURE[name])
    for placeholder, value in ids.items():
        text = text.replace(f'"{placeholder}"', json.dumps(value))
    return dict(json.loads(text))


async def post(platform: Platform, body: dict[str, Any]) -> None:
    raw = meta_body(body)
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, raw),
        },
    )
    assert response.status_code == 200, response.text


def new_ids() -> dict[str, str]:
    ids = {k: f"wamid.{uuid.uuid4().hex}" for k in ("ORIGINAL_ID", "OTHER_ID", "EDIT_ID")}
    ids["REVOKE_ID"] = f"wamid.{uuid.uuid4().hex}"
    ids["PHONE"] = "54911" + str(uuid.uuid4().int)[:8]
    ids["TIMESTAMP"] = str(int(time.time()))
    return ids


async def messages_of(platform: Platform, phone: str, count: int) -> list[dict[str, Any]]:
    """The customer's conversation messages once at least `count` are stored, oldest first."""
    collection = platform.db("routing")["messages"]

    async def stored() -> list[dict[str, Any]] | None:
        docs = [d async for d in collection.find({"identity_key": f"whatsapp:+{phone}"})]
        return sorted(docs, key=lambda d: d["seq"]) if len(docs) >= count else None

    return await eventually(stored, timeout=20)


async def test_an_edit_and_a_deletion_change_the_original_and_nothing_else(
    platform: Platform,
) -> None:
    ids = new_ids()
    await post(platform, payload("original", ids))
    await post(platform, payload("other", ids))
    # Two customer messages, and Lara's greeting and answer.
    before = await messages_of(platform, ids["PHONE"], 4)
    count = len(before)

    await post(platform, payload("edit", ids))
    await post(platform, payload("revoke", ids))
    original_id = f"wa:109876543210987:{ids['ORIGINAL_ID']}"
    other_id = f"wa:109876543210987:{ids['OTHER_ID']}"
    collection = platform.db("routing")["messages"]

    async def revised() -> dict[str, Any] | None:
        edited = await collection.find_one({"_id": original_id})
        deleted = await collection.find_one({"_id": other_id})
        done = edited and edited.get("edited_at") and deleted and deleted.get("revoked_at")
        return {"edited": edited, "deleted": deleted} if done else None

    found = await eventually(revised, timeout=20)
    assert found["edited"]["text"] == "$ Hola, no tengo internet desde anoche (editado)"
    assert [r["text"] for r in found["edited"]["revisions"]] == ["Hola, no tengo intrenet"]
    assert found["deleted"]["text"] == "Mensaje eliminado por el cliente"

    # Staff read it so in the conversation.
    cid = before[0]["conversation_id"]
    detail = await platform.http.get(
        f"/api/conversations/{cid}", headers=platform.auth("ana", "staff")
    )
    texts = {m["message_id"]: m["text"] for m in detail.json()["messages"]}
    assert texts[other_id] == "Mensaje eliminado por el cliente"
    assert texts[original_id].endswith("(editado)")

    # A message after them: routing applies one customer's events in order, so once it is
    # stored the revisions have been handled. They added nothing: no message of theirs, no
    # answer from Lara, no second conversation.
    await post(platform, payload("original", {**ids, "ORIGINAL_ID": f"wamid.{uuid.uuid4().hex}"}))
    after = await messages_of(platform, ids["PHONE"], count + 1)
    sentinel = next(m for m in after if m["direction"] == "inbound" and m["seq"] >= count)
    up_to = [m for m in after if m["seq"] < sentinel["seq"]]
    assert [m["_id"] for m in up_to] == [m["_id"] for m in before]
    assert {m["conversation_id"] for m in after} == {cid}

    # The broker redelivers a revision: applied once (the store recognises its event id).
    store = Store(platform.db("routing"), platform.ctx.bus)
    at = found["edited"]["edited_at"]
    args = ("edit", at, "otro texto (editado)", None)
    key = f"whatsapp:+{ids['PHONE']}"
    edit_id = f"wa:109876543210987:{ids['EDIT_ID']}"
    assert not await store.revise_message(key, ids["ORIGINAL_ID"], edit_id, *args)
    edited = await collection.find_one({"_id": original_id})
    assert edited is not None and len(edited["revisions"]) == 1
    # An older edit does not replace a newer one; a newer one does.
    older = ("edit", at - timedelta(seconds=5), "viejo (editado)", None)
    assert not await store.revise_message(key, ids["ORIGINAL_ID"], "wa:x:older", *older)
    newer = ("edit", at + timedelta(seconds=5), "nuevo (editado)", None)
    assert await store.revise_message(key, ids["ORIGINAL_ID"], "wa:x:newer", *newer)
    # Nothing edits a deleted message.
    assert not await store.revise_message(key, ids["OTHER_ID"], "wa:x:late", *newer)


async def test_a_revision_of_an_unknown_message_opens_no_conversation(
    platform: Platform,
) -> None:
    ids = new_ids()
    await post(platform, payload("revoke", ids))  # the original was never received
    await post(platform, payload("edit", ids))
    await post(platform, payload("original", {**ids, "ORIGINAL_ID": f"wamid.{uuid.uuid4().hex}"}))
    # The next message opens the conversation: it is the customer's first, Lara greets once.
    messages = await messages_of(platform, ids["PHONE"], 2)
    assert messages[0]["text"] == "Hola, no tengo intrenet"
    assert all(m["message_type"] not in ("edit", "revoke") for m in messages)
