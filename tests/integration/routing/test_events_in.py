"""Routing following other services' events: customers, tickets, IVR calls; and Lara's
decisions driving the conversation (with a scripted bot on the real database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.routing.bot import BotReply, Turn
from services.routing.handlers import Routing
from services.routing.holds import HoldTimers
from services.routing.store import Store
from shared.contracts import (
    CallEvent,
    ContactInfo,
    CustomerEvent,
    CustomerSnapshot,
    InboundMessage,
    ServiceSnapshot,
    TicketEvent,
)
from shared.secrets import SecretBox
from tests.integration.routing.helpers import (
    conversation,
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
    uid,
)
from tests.support import Platform, eventually


def customer_event(action: str, snapshot: CustomerSnapshot, **kw: Any) -> CustomerEvent:
    return CustomerEvent(action=action, customer=snapshot, **kw)  # type: ignore[arg-type]


async def conversation_doc(platform: Platform, cid: str) -> dict[str, Any]:
    doc = await platform.db("routing")["conversations"].find_one({"_id": cid})
    assert doc is not None
    return doc


async def identified_by_customers(platform: Platform, cid: str) -> str:
    """The customer id the customers service attributed the conversation to: tests then speak
    for that same customer (with a newer version), so its own events cannot race ours."""

    async def linked() -> str | None:
        return (await conversation_doc(platform, cid)).get("customer_id")

    return await eventually(linked)


async def test_identified_customer_is_carried_onto_the_conversation_with_tags(
    platform: Platform,
):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    customer = CustomerSnapshot(
        customer_id=await identified_by_customers(platform, cid),
        first_name="María",
        last_name="Pérez",
        document_number="30111222",
        tags=["svip"],
        identities=[identity],
        version=1000,
    )
    await platform.ctx.bus.publish(customer_event("identified", customer, identity=identity))

    async def linked() -> bool:
        return (await conversation_doc(platform, cid)).get("customer_name") == "María Pérez"

    await eventually(linked)
    view = await conversation(platform, cid)
    assert view["customer_name"] == "María Pérez"
    assert view["document_number"] == "30111222"
    assert view["customer_tags"] == ["svip"]


async def test_blocked_identity_is_recorded_but_opens_nothing(platform: Platform):
    identity = new_identity()
    customer = CustomerSnapshot(
        customer_id=uid("c"), identities=[identity], blocked_identities=[identity.key], version=2
    )
    await platform.ctx.bus.publish(customer_event("identity_blocked", customer, identity=identity))

    async def projected() -> bool:
        doc = await platform.db("routing")["identities"].find_one({"_id": identity.key})
        return bool(doc and doc["blocked"])

    await eventually(projected)
    msg = await customer_writes(platform, identity, "hola de nuevo")

    async def recorded() -> dict[str, Any] | None:
        return await platform.db("routing")["blocked_messages"].find_one({"_id": msg.event_id})

    assert (await eventually(recorded))["text"] == "hola de nuevo"
    listed = await platform.http.get(
        "/api/conversations", params={"identity": identity.key}, headers=platform.auth()
    )
    assert listed.json()["total"] == 0


async def test_merge_moves_the_absorbed_customers_conversations(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    absorbed_id = await identified_by_customers(platform, cid)

    async def linked_to(customer_id: str) -> bool:
        return (await conversation_doc(platform, cid)).get("customer_id") == customer_id

    survivor = CustomerSnapshot(
        customer_id=uid("s"), first_name="Ana", identities=[identity], version=3
    )
    await platform.ctx.bus.publish(
        customer_event("merged", survivor, merged_customer_id=absorbed_id)
    )
    await eventually(lambda: linked_to(survivor.customer_id))
    assert (await conversation_doc(platform, cid))["customer_name"] == "Ana"


async def test_anonymized_customer_keeps_counts_but_loses_texts_and_name(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity, "soy Juan, DNI 20333444")
    customer = CustomerSnapshot(
        customer_id=await identified_by_customers(platform, cid),
        identities=[identity],
        version=1000,
    )
    before = await conversation(platform, cid)
    gone = customer.model_copy(update={"anonymized": True, "version": 1001})
    await platform.ctx.bus.publish(customer_event("anonymized", gone))

    async def erased() -> bool:
        view = await conversation(platform, cid)
        return view["customer_name"] is None and all(
            m["text"] == "[anonimizado]" for m in view["messages"] if m["author"] == "customer"
        )

    await eventually(erased)
    after = await conversation(platform, cid)
    assert after["message_count"] == before["message_count"]
    assert after["opened_at"] == before["opened_at"]
    assert all("20333444" not in (e["text"] or "") for e in after["events"])


async def test_service_generated_marks_the_conversation_and_tells_the_customer(
    platform: Platform,
):
    cid = await open_conversation(platform)
    now = datetime.now(UTC)
    service = ServiceSnapshot(
        service_id=uid("s"),
        number="ST-000123",
        status="pendiente",
        conversation_id=cid,
        reason="sin conexión",
        created_by="staff:ana",
        created_at=now,
        updated_at=now,
        version=1,
    )
    event = TicketEvent(action="created", service=service)
    await platform.ctx.bus.publish(event)
    await platform.ctx.bus.publish(event)  # redelivered

    async def marked() -> bool:
        return (await conversation_doc(platform, cid))["status"] == "genero_servicio_tecnico"

    await eventually(marked)
    view = await conversation(platform, cid)
    system = [m for m in view["messages"] if m["author"] == "system"]
    assert [m["text"] for m in system] == ["Tu número de servicio técnico es ST-000123"]
    assert any(
        e["action"] == "status_changed" and e["change"] == "ticket_generated"
        for e in view["events"]
    )


async def test_ivr_call_opens_a_call_conversation_where_lara_stays_silent(platform: Platform):
    identity = new_identity("ivr")
    sid = f"CA{uuid.uuid4().hex}"
    steps = [
        CallEvent(identity=identity, call_sid=sid, step="incoming", city="Rosario"),
        CallEvent(identity=identity, call_sid=sid, step="gather", digits="3", motive="ventas"),
        CallEvent(identity=identity, call_sid=sid, step="status", call_status="completed"),
    ]
    for step in steps:
        await platform.ctx.bus.publish(step)

    async def completed() -> dict[str, Any] | None:
        listed = await platform.http.get(
            "/api/conversations", params={"identity": identity.key}, headers=platform.auth()
        )
        items = listed.json()["items"]
        call = items[0]["call"] if items else None
        return items[0] if call and call["call_status"] == "completed" else None

    item = await eventually(completed)
    assert item["channel"] == "ivr"
    assert item["call"] == {
        "call_sid": sid,
        "motive": "ventas",
        "city": "Rosario",
        "call_status": "completed",
        "caller_number": identity.external_id,
    }
    view = await conversation(platform, item["conversation_id"])
    assert not [m for m in view["messages"] if m["author"] == "lara"]
    assert [e["action"] for e in view["events"]].count("call_updated") == 3


async def test_quality_review_scores_the_chat(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity, "hola, no tengo internet")
    auth = platform.auth(uid("rev"), "staff")
    base = f"/api/conversations/{cid}"

    async def review() -> dict[str, Any]:
        response = await platform.http.get(f"{base}/quality", headers=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    before = await review()
    verdicts = {c["name"]: c["verdict"] for c in before["criteria"]}
    assert before["satisfaction"] == 0
    # A live chat is judged by what was done: what is still due is pending, never failed.
    assert "not_met" not in verdicts.values(), verdicts

    assert (await platform.http.post(f"{base}/take", headers=auth)).status_code == 200
    for text in ("¡Hola! Buen día, soy Carla.", "¿Qué luces ves en el módem?"):
        sent = await platform.http.post(f"{base}/messages", json={"text": text}, headers=auth)
        assert sent.status_code == 200, sent.text
    thanks = await customer_writes(platform, identity, "ya anda, me salvaste! gracias")
    await message_stored(platform, thanks.event_id)

    after = await review()
    criteria = {c["name"]: c for c in after["criteria"]}
    assert criteria["saludo"]["verdict"] == "met"
    assert criteria["saludo"]["verdict_label"] == "cumplido"
    assert criteria["explicacion"]["verdict_label"] == "pendiente"  # it may come late
    assert criteria["cierre"]["verdict"] == "pending"
    assert criteria["explicacion"]["title"] == "Explicación de la situación"
    assert criteria["preguntas_diagnostico"]["verdict"] == "met"
    assert after["satisfaction"] == 1
    assert criteria["satisfaccion"]["verdict"] == "met"


class ScriptedBot:
    """Answers every message and escalates when the customer asks for a person."""

    def greet(self) -> BotReply:
        return BotReply(messages=["Bienvenido"])

    def open_with(self, incoming: str) -> BotReply:
        return self.greet()

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        if "persona" in incoming:
            return BotReply(escalate=True, escalation_note="pide hablar con una persona")
        return BotReply(messages=[f"eco: {incoming}"])


def scripted_routing(platform: Platform) -> Routing:
    db = platform.db("routing")
    return Routing(
        Store(db, platform.ctx.bus),
        ScriptedBot(),
        HoldTimers(db, 1.0),
        SecretBox(platform.settings.secrets_key),
        platform.settings.tz,
    )


def inbound(identity: Any, text: str) -> InboundMessage:
    return InboundMessage(
        channel=identity.channel,
        identity=identity,
        contact=ContactInfo(),
        external_message_id=uuid.uuid4().hex,
        message_type="text",
        text=text,
    )


async def lara_lines(platform: Platform, cid: str) -> list[str]:
    view = await conversation(platform, cid)
    return [m["text"] for m in view["messages"] if m["author"] == "lara"]


async def test_lara_answers_until_staff_takes_over_then_stays_silent_until_a_note(
    platform: Platform,
):
    routing = scripted_routing(platform)
    identity = new_identity()
    first = inbound(identity, "hola")
    await routing.inbound.handle_one(first)
    cid = (await routing.store.messages.find_one({"_id": first.event_id}))["conversation_id"]
    await routing.inbound.handle_one(inbound(identity, "precio"))
    assert await lara_lines(platform, cid) == ["Bienvenido", "eco: precio"]

    taken = await platform.http.post(
        f"/api/conversations/{cid}/messages", json={"text": "te atiendo"}, headers=platform.auth()
    )
    assert taken.status_code == 200
    await routing.inbound.handle_one(inbound(identity, "dale"))
    assert await lara_lines(platform, cid) == ["Bienvenido", "eco: precio"]

    await platform.http.post(
        f"/api/conversations/{cid}/notes",
        json={"text": "Lara, respondé vos", "to": "lara"},
        headers=platform.auth(),
    )
    await routing.inbound.handle_one(inbound(identity, "otra"))
    assert await lara_lines(platform, cid) == ["Bienvenido", "eco: precio", "eco: otra"]


async def test_lara_escalation_puts_the_conversation_in_the_agent_queue_with_her_note(
    platform: Platform,
):
    routing = scripted_routing(platform)
    identity = new_identity()
    first = inbound(identity, "hola")
    await routing.inbound.handle_one(first)
    cid = (await routing.store.messages.find_one({"_id": first.event_id}))["conversation_id"]
    await routing.inbound.handle_one(inbound(identity, "quiero una persona"))
    view = await conversation(platform, cid)
    assert view["holder"] is None
    assert view["queue"] == "agentes"
    assert view["notes"][-1]["text"] == "pide hablar con una persona"
    assert any(e["action"] == "escalated" and e["actor"] == "lara" for e in view["events"])
    # An agent picks it from the queue by answering.
    reply = await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Hola, soy Luis"},
        headers=platform.auth("luis", "agent"),
    )
    assert reply.status_code == 200
    assert reply.json()["conversation"]["holder"] == "agent:luis"


async def test_hold_reminder_is_published_for_the_current_holder_only(platform: Platform):
    routing = scripted_routing(platform)
    cid = await open_conversation(platform)
    await platform.http.post(f"/api/conversations/{cid}/take", headers=platform.auth("ana"))
    since = datetime.now(UTC)
    await routing.notify_hold(cid, "staff:ana", since)
    await routing.notify_hold(cid, "staff:ana", since)  # fired twice: one reminder
    await routing.notify_hold(cid, "staff:otro", since)
    events = (await conversation(platform, cid))["events"]
    assert [e["action"] for e in events].count("hold_reminder") == 1
