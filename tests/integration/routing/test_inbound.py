"""The inbound path: a customer's message opens or joins their conversation, Lara greets."""

from __future__ import annotations

from shared.contracts import DeliveryStatus
from tests.integration.routing.helpers import (
    conversation,
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
)
from tests.support import Platform, eventually


async def test_first_message_opens_a_conversation_held_by_lara_who_greets(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity, "hola, necesito ayuda")
    view = await conversation(platform, cid)
    assert view["holder"] == "lara"
    assert view["status"] == "abierta"
    assert view["identity"] == {"channel": "whatsapp", "external_id": identity.external_id}
    authors = [m["author"] for m in view["messages"]]
    assert authors[0] == "customer"
    assert "lara" in authors
    lara_texts = [m["text"] for m in view["messages"] if m["author"] == "lara"]
    # Lara's turn is one message (one delivery to the customer): the welcome comes first.
    assert lara_texts[0].startswith(platform.settings.welcome_message)
    assert [e["action"] for e in view["events"]][:1] == ["opened"]


async def test_next_message_joins_the_same_open_conversation(platform: Platform):
    identity = new_identity()
    first = await open_conversation(platform, identity)
    second = await open_conversation(platform, identity, "sigo acá")
    assert first == second
    view = await conversation(platform, first)
    customer = [m for m in view["messages"] if m["author"] == "customer"]
    assert [m["text"] for m in customer] == ["hola", "sigo acá"]


async def test_redelivered_message_is_stored_once(platform: Platform):
    identity = new_identity()
    msg = await customer_writes(platform, identity, "una vez")
    stored = await message_stored(platform, msg.event_id)
    await platform.ctx.bus.publish(msg)
    follow = await customer_writes(platform, identity, "dos")
    await message_stored(platform, follow.event_id)
    view = await conversation(platform, stored["conversation_id"])
    assert [m["text"] for m in view["messages"] if m["author"] == "customer"] == ["una vez", "dos"]


async def test_password_typed_in_chat_is_masked_and_revealed_only_to_the_holder(
    platform: Platform,
):
    identity = new_identity()
    msg = await customer_writes(platform, identity, "mi contraseña: hunter22 gracias")
    stored = await message_stored(platform, msg.event_id)
    cid = stored["conversation_id"]
    assert "hunter22" not in stored["text"]
    view = await conversation(platform, cid)
    assert all("hunter22" not in (m["text"] or "") for m in view["messages"])
    assert all("hunter22" not in (e["text"] or "") for e in view["events"])
    url = f"/api/conversations/{cid}/messages/{msg.event_id}/reveal"
    refused = await platform.http.post(url, headers=platform.auth("rev1", "staff"))
    assert refused.status_code == 403
    taken = await platform.http.post(
        f"/api/conversations/{cid}/take", headers=platform.auth("rev1", "staff")
    )
    assert taken.status_code == 200
    revealed = await platform.http.post(url, headers=platform.auth("rev1", "staff"))
    assert revealed.status_code == 200
    assert revealed.json()["text"] == "mi contraseña: hunter22 gracias"
    events = (await conversation(platform, cid))["events"]
    assert any(e["action"] == "secret_revealed" and e["actor"] == "staff:rev1" for e in events)


async def test_delivery_receipts_only_move_forward_and_open_nothing(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    view = await conversation(platform, cid)
    greeting = next(m for m in view["messages"] if m["author"] == "lara")
    for state in ("read", "delivered"):
        await platform.ctx.bus.publish(
            DeliveryStatus(
                channel="whatsapp",
                identity=identity,
                external_message_id=greeting["message_id"],
                status=state,
            )
        )

    async def read() -> bool:
        doc = await platform.db("routing")["messages"].find_one({"_id": greeting["message_id"]})
        return bool(doc and doc["delivery"] == "read")

    await eventually(read)
    stranger = new_identity()
    await platform.ctx.bus.publish(
        DeliveryStatus(
            channel="whatsapp", identity=stranger, external_message_id="x", status="read"
        )
    )
    # A later message from the known identity proves the receipt was consumed before it.
    await open_conversation(platform, identity, "ok")
    doc = await platform.db("routing")["messages"].find_one({"_id": greeting["message_id"]})
    assert doc["delivery"] == "read"
    listed = await platform.http.get(
        "/api/conversations",
        params={"identity": stranger.key},
        headers=platform.auth(),
    )
    assert listed.json()["total"] == 0
