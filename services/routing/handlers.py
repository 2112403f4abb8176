"""Use cases of the routing service: load, decide with the domain, save, record, publish.

Every change of a conversation (a) is saved with compare-and-set on `version` (or with an
atomic, commutative update when no rule depends on the state), (b) writes an audit event
document, and (c) stages the `conversation.<action>` event (and any outbound message) in the
outbox before flushing it. Ids derived from an inbound event's id are deterministic, so a
redelivered message re-stages the same events and downstream consumers dedupe them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.routing import domain, metrics
from services.routing.bot import Bot, Turn
from services.routing.domain import Actor, Conversation, Decision
from services.routing.holds import HoldTimers
from services.routing.quality import ChatLine, score_chat
from services.routing.store import Store
from shared.contracts import (
    CallEvent,
    CallInfo,
    ConversationEvent,
    ConversationSnapshot,
    CustomerEvent,
    DeliveryStatus,
    Event,
    Identity,
    InboundMessage,
    OutboundMessage,
    TicketEvent,
    utcnow,
)
from shared.logging import bind_context, get_logger
from shared.mongo import Document
from shared.outbox import Outbox
from shared.secrets import SecretBox, contains_secret, mask_secrets

log = get_logger("routing")

_NS = uuid.UUID("6f1d9a52-3c1e-4c55-9d0e-52a7b0f0c0de")
ANONYMIZED = "[anonimizado]"
PREVIEW_CHARS = 120
CAS_ATTEMPTS = 100


def derived_id(*parts: str) -> str:
    """A stable id derived from an inbound event id, so a redelivery produces the same ids."""
    return str(uuid.uuid5(_NS, ":".join(parts)))


def snapshot(doc: Document) -> ConversationSnapshot:
    call = doc.get("call")
    return ConversationSnapshot(
        conversation_id=doc["_id"],
        channel=doc["channel"],
        identity=Identity(**doc["identity"]),
        customer_id=doc.get("customer_id"),
        customer_name=doc.get("customer_name"),
        document_number=doc.get("document_number"),
        status=doc["status"],
        holder=doc.get("holder"),
        opened_at=doc["opened_at"],
        closed_at=doc.get("closed_at"),
        last_message_at=doc.get("last_message_at"),
        last_message_preview=doc.get("last_message_preview"),
        message_count=int(doc.get("message_count", 0)),
        call=CallInfo(**call) if call else None,
        version=int(doc.get("version", 0)),
        queue=doc.get("queue"),
    )


def preview(masked: str | None) -> str | None:
    if masked is None:
        return None
    return masked if len(masked) <= PREVIEW_CHARS else masked[: PREVIEW_CHARS - 1] + "…"


def inbound_text(msg: InboundMessage) -> str | None:
    """What the customer said, in words: text, else a caption, payload or location name."""
    if msg.text:
        return msg.text
    for attachment in msg.attachments:
        if attachment.caption:
            return attachment.caption
    if msg.payload:
        return msg.payload
    if msg.location is not None:
        return msg.location.name or msg.location.address
    return None


@dataclass
class Staged:
    """Events owed by one use case: audit documents to write and bus events to publish."""

    events: list[Event]
    audit: list[Document]

    @classmethod
    def empty(cls) -> Staged:
        return cls([], [])


# How much of a conversation the bot sees: enough to notice a repeated question.
BOT_HISTORY = 40


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or awaits it.

    The broker hands this process up to PREFETCH_COUNT messages at once and each is handled
    in its own task; a customer's messages must still be appended and answered one after
    the other, in delivery order (asyncio locks are FIFO).
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class Routing:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        bot: Bot,
        holds: HoldTimers,
        box: SecretBox,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.bot = bot
        self.holds = holds
        self.box = box
        self.per_identity = KeyedLocks()

    # --- recording and publishing ---------------------------------------------------

    def _action(
        self,
        staged: Staged,
        doc: Document,
        action: str,
        actor: str,
        *,
        event_id: str | None = None,
        note: str | None = None,
        text: str | None = None,
        change: str | None = None,
        at: datetime | None = None,
        audit: bool = True,
    ) -> None:
        event = ConversationEvent(
            event_id=event_id or str(uuid.uuid4()),
            occurred_at=at or utcnow(),
            action=action,  # type: ignore[arg-type]
            conversation=snapshot(doc),
            actor=actor,
            note=note,
            text=text,
            change=change,
        )
        staged.events.append(event)
        metrics.ACTIONS.labels(action).inc()
        if audit:
            staged.audit.append(
                {
                    "_id": event.event_id,
                    "conversation_id": doc["_id"],
                    "action": action,
                    "actor": actor,
                    "note": note,
                    "text": text,
                    "change": change,
                    "at": event.occurred_at,
                }
            )

    async def _commit(self, staged: Staged) -> None:
        await self.store.record_events(staged.audit)
        await self.outbox.stage(staged.events)
        await self.outbox.flush(staged.events)

    def _outbound(
        self, staged: Staged, doc: Document, message_id: str, author: str, text: str
    ) -> None:
        staged.events.append(
            OutboundMessage(
                event_id=message_id,
                conversation_id=doc["_id"],
                channel=doc["channel"],
                identity=Identity(**doc["identity"]),
                author=author,
                text=text,
            )
        )

    async def _store_message(
        self,
        doc: Document,
        message_id: str,
        author: str,
        text: str | None,
        *,
        direction: str,
        message_type: str = "text",
        at: datetime | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[bool, str | None]:
        """Store a message with its text masked (the original sealed when it holds a
        secret); returns (inserted, masked text)."""
        masked = mask_secrets(text)
        message: Document = {
            "_id": message_id,
            "conversation_id": doc["_id"],
            "identity_key": doc["identity_key"],
            "direction": direction,
            "author": author,
            "text": masked,
            "message_type": message_type,
            "at": at or utcnow(),
            "seq": int(doc.get("message_count", 0)),
            "delivery": "pending" if direction == "outbound" else None,
            "applied": direction == "outbound",
            **(extra or {}),
        }
        if text and contains_secret(text):
            message["sealed"] = self.box.seal(text)
        inserted = await self.store.insert_message(message)
        return inserted, masked

    # --- compare-and-set ---------------------------------------------------------------

    async def _transition(
        self,
        conversation_id: str,
        decide: Callable[[Conversation, Document], tuple[Decision, dict[str, Any]]],
    ) -> tuple[Document, Document, Decision]:
        """Load, decide, save if nobody changed it meanwhile; otherwise reload and decide
        again against the new state (so a second `take` sees the first and is refused).
        Returns (before, after, decision)."""
        for _ in range(CAS_ATTEMPTS):
            before = await self.store.get(conversation_id)
            if before is None:
                raise domain.ConversationNotFound(f"conversation {conversation_id} not found")
            decision, extra = decide(Conversation.from_doc(before), before)
            changes = {**decision.changes, **extra, "last_activity_at": utcnow()}
            after = await self.store.compare_and_set(
                conversation_id, int(before.get("version", 0)), changes
            )
            if after is not None:
                return before, after, decision
        raise domain.AlreadyTaken("the conversation is changing too fast; try again")

    async def _load(self, conversation_id: str) -> Document:
        doc = await self.store.get(conversation_id)
        if doc is None:
            raise domain.ConversationNotFound(f"conversation {conversation_id} not found")
        return doc

    # --- inbound: customers writing -------------------------------------------------------

    def _customer_fields(self, ident: Document | None, contact_name: str | None) -> Document:
        if ident is not None:
            return {
                "customer_id": ident.get("customer_id"),
                "customer_name": ident.get("name") or contact_name,
                "document_number": ident.get("document_number"),
            }
        return {"customer_id": None, "customer_name": contact_name, "document_number": None}

    def _new_conversation(
        self, conversation_id: str, channel: str, identity: Identity, opened_by: str, at: datetime
    ) -> Document:
        return {
            "_id": conversation_id,
            "channel": channel,
            "identity": identity.model_dump(),
            "identity_key": identity.key,
            "status": domain.OPEN,
            "holder": domain.LARA,
            "holder_kind": "lara",
            "queue": None,
            "lara_allowed": False,
            "agents_allowed": False,
            "opened_at": at,
            "opened_by": opened_by,
            "closed_at": None,
            "last_message_at": None,
            "last_message_preview": None,
            "last_activity_at": at,
            "message_count": 0,
            "call": None,
            "customer_id": None,
            "customer_name": None,
            "document_number": None,
            "version": 0,
        }

    async def on_inbound_message(self, msg: InboundMessage) -> None:
        """A customer wrote: append to their open conversation (or open one, held by Lara),
        let Lara answer while she may, and publish what happened."""
        async with self.per_identity.hold(msg.identity.key):
            await self._on_inbound_message(msg)

    async def _on_inbound_message(self, msg: InboundMessage) -> None:
        with bind_context(event_id=msg.event_id):
            if await self.store.message_applied(msg.event_id):
                metrics.INBOUND.labels("message", "duplicate").inc()
                return
            key = msg.identity.key
            ident = await self.store.identity(key)
            text = inbound_text(msg)
            if ident is not None and ident.get("blocked"):
                await self._record_blocked(msg, text)
                return
            now = utcnow()
            at = msg.occurred_at.astimezone(UTC)
            candidate = derived_id(msg.event_id, "conversation")
            conversation_id = await self.store.claim_open_slot(key, candidate)
            base = self._new_conversation(
                conversation_id, msg.channel, msg.identity, msg.event_id, now
            )
            doc = await self.store.create_if_missing(base)
            if doc["status"] == domain.CLOSED:
                # A close that stopped before freeing the slot: free it now and open anew.
                await self.store.release_open_slot(key, conversation_id)
                conversation_id = await self.store.claim_open_slot(key, candidate)
                base["_id"] = conversation_id
                doc = await self.store.create_if_missing(base)
            opened = doc.get("opened_by") == msg.event_id
            with bind_context(conversation_id=conversation_id):
                await self._append_inbound(msg, doc, ident, text, at, opened)

    async def _record_blocked(self, msg: InboundMessage, text: str | None) -> None:
        masked = mask_secrets(text)
        await self.store.blocked_messages.update_one(
            {"_id": msg.event_id},
            {
                "$setOnInsert": {
                    "identity_key": msg.identity.key,
                    "channel": msg.channel,
                    "text": masked,
                    "message_type": msg.message_type,
                    "at": msg.occurred_at,
                }
            },
            upsert=True,
        )
        metrics.INBOUND.labels("message", "blocked").inc()
        log.info("inbound_from_blocked_identity", channel=msg.channel)

    async def _append_inbound(
        self,
        msg: InboundMessage,
        doc: Document,
        ident: Document | None,
        text: str | None,
        at: datetime,
        opened: bool,
    ) -> None:
        staged = Staged.empty()
        masked = mask_secrets(text)
        customer = self._customer_fields(ident, msg.contact.name)
        fill = {k: v for k, v in customer.items() if v is not None and doc.get(k) is None}
        updated = await self.store.update(
            doc["_id"],
            {
                **fill,
                "last_message_at": at,
                "last_message_preview": preview(masked),
                "last_activity_at": utcnow(),
            },
            inc={"message_count": 1},
        )
        assert updated is not None
        await self._store_message(
            doc,
            msg.event_id,
            "customer",
            text,
            direction="inbound",
            message_type=msg.message_type,
            at=at,
            extra={
                "external_message_id": msg.external_message_id,
                "attachments": [a.model_dump() for a in msg.attachments],
            },
        )
        if opened:
            metrics.CONVERSATIONS_OPENED.labels(msg.channel).inc()
            self._action(
                staged,
                updated,
                "opened",
                "customer",
                event_id=derived_id(msg.event_id, "opened"),
                at=at,
            )
        self._action(
            staged,
            updated,
            "message_received",
            "customer",
            event_id=derived_id(msg.event_id, "message_received"),
            text=masked,
            at=at,
        )
        conv = Conversation.from_doc(updated)
        if domain.lara_may_reply(conv):
            if opened:
                answer = self.bot.open_with(masked or "")
            else:
                history = await self._history(doc["_id"], exclude=msg.event_id)
                answer = self.bot.reply(history, masked or "")
            updated = await self._lara_speaks(staged, updated, msg.event_id, answer.messages)
            if answer.escalate:
                updated = await self._lara_escalates(
                    staged, updated, msg.event_id, answer.escalation_note
                )
        await self._commit(staged)
        await self.store.mark_applied(msg.event_id)
        metrics.INBOUND.labels("message", "opened" if opened else "appended").inc()
        log.info("inbound_message_routed", channel=msg.channel, opened=opened)

    async def _history(self, conversation_id: str, exclude: str) -> list[Turn]:
        turns = []
        for m in await self.store.recent_messages(conversation_id, BOT_HISTORY):
            if m["_id"] == exclude or not m.get("text"):
                continue
            turns.append(Turn(author=domain.author_kind(m["author"]), text=m["text"]))  # type: ignore[arg-type]
        return turns

    async def _lara_speaks(
        self, staged: Staged, doc: Document, cause: str, messages: list[str]
    ) -> Document:
        for i, text in enumerate(messages):
            message_id = derived_id(cause, "lara", str(i))
            masked = mask_secrets(text)
            updated = await self.store.update(
                doc["_id"],
                {
                    "last_message_at": utcnow(),
                    "last_message_preview": preview(masked),
                    "last_activity_at": utcnow(),
                },
                inc={"message_count": 1},
            )
            assert updated is not None
            doc = updated
            await self._store_message(doc, message_id, domain.LARA, text, direction="outbound")
            self._outbound(staged, doc, message_id, domain.LARA, text)
            self._action(
                staged,
                doc,
                "message_sent",
                domain.LARA,
                event_id=derived_id(cause, "lara_sent", str(i)),
                text=masked,
            )
        return doc

    async def _lara_escalates(
        self, staged: Staged, doc: Document, cause: str, note: str | None
    ) -> Document:
        note = note or "Lara no pudo resolver la consulta"
        try:
            _, after, decision = await self._transition(
                doc["_id"], lambda conv, _doc: (domain.escalate_to_agents(conv, note), {})
            )
        except domain.DomainError as exc:
            log.info("lara_escalation_skipped", reason=str(exc))
            return doc
        metrics.ESCALATIONS.labels("lara").inc()
        await self._note(
            after["_id"], domain.LARA, decision.note or note, None, derived_id(cause, "note")
        )
        self._action(
            staged,
            after,
            "escalated",
            domain.LARA,
            event_id=derived_id(cause, "escalated"),
            note=decision.note,
        )
        return after

    async def _note(
        self,
        conversation_id: str,
        author: str,
        text: str,
        to: str | None,
        note_id: str | None = None,
    ) -> None:
        await self.store.add_note(
            {
                "_id": note_id or str(uuid.uuid4()),
                "conversation_id": conversation_id,
                "author": author,
                "text": text,
                "to": to,
                "at": utcnow(),
            }
        )

    # --- inbound: receipts and calls ------------------------------------------------------

    async def on_delivery_status(self, status: DeliveryStatus) -> int:
        """Move the delivery state of our outbound message(s) forward; never opens anything."""
        with bind_context(event_id=status.event_id):
            allowed = domain.delivery_states_before(status.status)
            now = utcnow()
            if status.external_message_id:
                changed = await self.store.set_delivery(
                    status.external_message_id, status.status, allowed, now
                )
            elif status.watermark is not None:
                until = datetime.fromtimestamp(status.watermark / 1000, UTC)
                changed = await self.store.set_delivery_until(
                    status.identity.key, until, status.status, allowed, now
                )
            else:
                changed = 0
            metrics.INBOUND.labels("status", "applied" if changed else "ignored").inc()
            return changed

    async def on_call(self, call: CallEvent) -> None:
        """An IVR call step: one conversation per call (channel `ivr`) carrying CallInfo;
        Lara does not chat on calls. A caller's steps are applied one after the other."""
        async with self.per_identity.hold(call.identity.key):
            await self._on_call(call)

    async def _on_call(self, call: CallEvent) -> None:
        conversation_id = derived_id("call", call.call_sid)
        with bind_context(event_id=call.event_id, conversation_id=conversation_id):
            now = utcnow()
            base = self._new_conversation(conversation_id, "ivr", call.identity, call.event_id, now)
            base["call"] = {"call_sid": call.call_sid, "caller_number": call.identity.external_id}
            doc = await self.store.create_if_missing(base)
            opened = doc.get("opened_by") == call.event_id
            ident = await self.store.identity(call.identity.key)
            customer = self._customer_fields(ident, call.contact.name)
            fill = {k: v for k, v in customer.items() if v is not None and doc.get(k) is None}
            call_fields = {
                "call.motive": call.motive,
                "call.city": call.city,
                "call.call_status": call.call_status,
                "call.caller_number": call.contact.phone or call.identity.external_id,
            }
            changes: dict[str, Any] = {k: v for k, v in call_fields.items() if v is not None}
            said = call.speech or call.digits
            inc: dict[str, int] = {}
            inserted = False
            if said:
                inserted, masked = await self._store_message(
                    doc, call.event_id, "customer", said, direction="inbound", at=call.occurred_at
                )
                if inserted:
                    inc["message_count"] = 1
                    changes["last_message_at"] = call.occurred_at
                    changes["last_message_preview"] = preview(masked)
                    await self.store.mark_applied(call.event_id)
            updated = await self.store.update(
                conversation_id, {**fill, **changes, "last_activity_at": now}, inc=inc
            )
            assert updated is not None
            staged = Staged.empty()
            if opened:
                metrics.CONVERSATIONS_OPENED.labels("ivr").inc()
                self._action(
                    staged,
                    updated,
                    "opened",
                    "customer",
                    event_id=derived_id(call.event_id, "opened"),
                )
            self._action(
                staged,
                updated,
                "call_updated",
                "customer",
                event_id=derived_id(call.event_id, "call_updated"),
                note=call.step,
            )
            await self._commit(staged)
            metrics.INBOUND.labels("call", "opened" if opened else "updated").inc()

    # --- customers projection ------------------------------------------------------------

    async def on_customer_event(self, event: CustomerEvent) -> int:
        """Keep identity → customer (name, document, tags, blocked) and carry it onto the
        conversations; returns how many conversations changed."""
        customer = event.customer
        with bind_context(event_id=event.event_id):
            known = await self.store.customer(customer.customer_id)
            if known is not None and int(known.get("version", 0)) > customer.version:
                return 0  # an older snapshot than the one projected
            name = None if customer.anonymized else customer.full_name
            await self.store.customers.update_one(
                {"_id": customer.customer_id},
                {
                    "$set": {
                        "name": name,
                        "document_number": customer.document_number,
                        "tags": list(customer.tags),
                        "anonymized": customer.anonymized,
                        "version": customer.version,
                    }
                },
                upsert=True,
            )
            keys = {i.key for i in customer.identities}
            if event.identity is not None:
                keys.add(event.identity.key)
            blocked = set(customer.blocked_identities)
            for key in keys | blocked:
                await self.store.identities.update_one(
                    {"_id": key},
                    {
                        "$set": {
                            "customer_id": customer.customer_id,
                            "name": name,
                            "document_number": customer.document_number,
                            "blocked": key in blocked,
                        }
                    },
                    upsert=True,
                )
            if event.action == "anonymized" or customer.anonymized:
                return await self._anonymize(event, keys)
            return await self._carry_customer(event, keys | blocked, name)

    async def _carry_customer(self, event: CustomerEvent, keys: set[str], name: str | None) -> int:
        customer = event.customer
        # The snapshot is the authority on which identities this customer owns.
        ors: list[Document] = [{"customer_id": customer.customer_id}]
        if keys:
            ors.append({"identity_key": {"$in": sorted(keys)}})
        if event.action == "merged" and event.merged_customer_id:
            ors.append({"customer_id": event.merged_customer_id})
        change = "customer_merged" if event.action == "merged" else "customer_linked"
        wanted = {
            "customer_id": customer.customer_id,
            "customer_name": name,
            "document_number": customer.document_number,
        }
        changed = 0
        staged = Staged.empty()
        async for doc in self.store.conversations.find({"$or": ors}):
            diff = {k: v for k, v in wanted.items() if doc.get(k) != v}
            if not name and "customer_name" in diff and doc.get("customer_name"):
                diff.pop("customer_name")  # keep the name the channel gave until we know better
            if not diff:
                continue
            updated = await self.store.update(doc["_id"], diff)
            if updated is None:
                continue
            changed += 1
            self._action(
                staged,
                updated,
                "status_changed",
                "system",
                event_id=derived_id(event.event_id, doc["_id"]),
                change=change,
                audit=event.action == "merged",
            )
        await self._commit(staged)
        return changed

    async def _anonymize(self, event: CustomerEvent, keys: set[str]) -> int:
        """Erase what the customer said and who they are; keep counts and timestamps."""
        customer_id = event.customer.customer_id
        ors: list[Document] = [{"customer_id": customer_id}]
        if keys:
            ors.append({"identity_key": {"$in": sorted(keys)}, "customer_id": None})
        staged = Staged.empty()
        changed = 0
        async for doc in self.store.conversations.find({"$or": ors}):
            cid = doc["_id"]
            await self.store.messages.update_many(
                {"conversation_id": cid, "direction": "inbound"},
                {"$set": {"text": ANONYMIZED}, "$unset": {"sealed": ""}},
            )
            await self.store.events.update_many(
                {"conversation_id": cid, "text": {"$ne": None}}, {"$set": {"text": ANONYMIZED}}
            )
            updated = await self.store.update(
                cid,
                {
                    "customer_id": customer_id,
                    "customer_name": None,
                    "document_number": None,
                    "last_message_preview": ANONYMIZED if doc.get("last_message_preview") else None,
                },
            )
            if updated is None:
                continue
            changed += 1
            self._action(
                staged,
                updated,
                "status_changed",
                "system",
                event_id=derived_id(event.event_id, cid),
                change="customer_anonymized",
            )
        if keys:
            await self.store.blocked_messages.update_many(
                {"identity_key": {"$in": sorted(keys)}}, {"$set": {"text": ANONYMIZED}}
            )
        await self._commit(staged)
        return changed

    # --- tickets ----------------------------------------------------------------------------

    async def on_ticket_event(self, event: TicketEvent) -> None:
        """A technical service generated from a conversation: mark it and tell the customer
        their service number."""
        service = event.service
        # Any event of a service will do: if a crash lost `created`, a later republication of
        # the service (confirmed, cancelled) still marks the conversation, exactly once.
        if service is None or not service.conversation_id:
            return
        cid = service.conversation_id
        with bind_context(event_id=event.event_id, conversation_id=cid):
            message_id = derived_id(service.service_id, "service_number")
            if await self.store.message_applied(message_id):
                return
            doc = await self.store.get(cid)
            if doc is None:
                log.warning("ticket_for_unknown_conversation")
                return
            text = f"Tu número de servicio técnico es {service.number}"
            changes: Document = {
                "last_message_at": utcnow(),
                "last_message_preview": text,
                "last_activity_at": utcnow(),
            }
            if doc["status"] == domain.OPEN:
                changes["status"] = domain.SERVICE_GENERATED
            updated = await self.store.update(cid, changes, inc={"message_count": 1})
            assert updated is not None
            await self.store.conversations.update_one(
                {"_id": cid}, {"$addToSet": {"service_numbers": service.number}}
            )
            staged = Staged.empty()
            await self._store_message(updated, message_id, "system", text, direction="outbound")
            self._action(
                staged,
                updated,
                "status_changed",
                "system",
                event_id=derived_id(service.service_id, "status_changed"),
                note=service.number,
                change="ticket_generated",
            )
            if updated["channel"] not in domain.READ_ONLY_CHANNELS:
                self._outbound(staged, updated, message_id, "system", text)
            await self._commit(staged)
            await self.store.mark_applied(message_id)

    # --- staff actions ------------------------------------------------------------------------

    async def escalate(
        self, conversation_id: str, actor: Actor, note: str | None, to: str | None
    ) -> Document:
        before, after, decision = await self._transition(
            conversation_id, lambda conv, _d: (domain.escalate(conv, actor, note, to), {})
        )
        metrics.ESCALATIONS.labels(domain.holder_kind(before.get("holder"))).inc()
        return await self._finish_action(after, actor, decision)

    async def assign(
        self, conversation_id: str, actor: Actor, to: str | None, note: str | None
    ) -> Document:
        _, after, decision = await self._transition(
            conversation_id, lambda conv, _d: (domain.assign(conv, actor, to, note), {})
        )
        metrics.REASSIGNMENTS.labels(decision.actions[0], domain.holder_kind(after["holder"])).inc()
        return await self._finish_action(after, actor, decision)

    async def take(self, conversation_id: str, actor: Actor) -> Document:
        _, after, decision = await self._transition(
            conversation_id, lambda conv, _d: (domain.take(conv, actor), {})
        )
        return await self._finish_action(after, actor, decision)

    async def give_back(self, conversation_id: str, actor: Actor) -> Document:
        _, after, decision = await self._transition(
            conversation_id, lambda conv, _d: (domain.give_back(conv, actor), {})
        )
        return await self._finish_action(after, actor, decision)

    async def close(self, conversation_id: str, actor: Actor, note: str | None = None) -> Document:
        now = utcnow()
        _, after, decision = await self._transition(
            conversation_id,
            lambda conv, _d: (domain.close(conv, actor, note), {"closed_at": now}),
        )
        await self.store.release_open_slot(after["identity_key"], after["_id"])
        await self.holds.on_closed(after["_id"])
        opened_at: datetime = after["opened_at"]
        metrics.TIME_TO_CLOSE_SECONDS.labels(after["channel"]).observe(
            max(0.0, (now - opened_at).total_seconds())
        )
        return await self._finish_action(after, actor, decision)

    async def add_note(
        self, conversation_id: str, actor: Actor, text: str | None, to: str | None
    ) -> Document:
        if to not in (None, "lara", "agents"):
            raise domain.InvalidTarget("a note is addressed to 'lara', 'agents' or nobody")
        _, after, decision = await self._transition(
            conversation_id,
            lambda conv, _d: (domain.add_note(conv, actor, text, to), {}),  # type: ignore[arg-type]
        )
        return await self._finish_action(after, actor, decision, note_to=to)

    async def seen(self, conversation_id: str, actor: Actor) -> Document:
        doc = await self._load(conversation_id)
        decision = domain.see(Conversation.from_doc(doc), actor)
        staged = Staged.empty()
        self._action(staged, doc, decision.actions[0], actor.name)
        await self._commit(staged)
        return doc

    async def _finish_action(
        self, doc: Document, actor: Actor, decision: Decision, note_to: str | None = None
    ) -> Document:
        with bind_context(conversation_id=doc["_id"]):
            if decision.note:
                await self._note(doc["_id"], actor.name, decision.note, note_to)
            staged = Staged.empty()
            for action in decision.actions:
                self._action(staged, doc, action, actor.name, note=decision.note)
            await self._commit(staged)
            log.info("conversation_action", actions=list(decision.actions), actor=actor.name)
            return doc

    async def reply(self, conversation_id: str, actor: Actor, text: str) -> tuple[Document, str]:
        """A person writes to the customer (a staff reply to someone else's conversation is a
        take-over). Returns the conversation and the new message id."""
        if not text or not text.strip():
            raise domain.NoteRequired("the message is empty")
        message_id = str(uuid.uuid4())
        now = utcnow()
        masked = mask_secrets(text)

        def decide(conv: Conversation, doc: Document) -> tuple[Decision, dict[str, Any]]:
            decision = domain.reply(conv, actor)
            extra: dict[str, Any] = {
                "message_count": int(doc.get("message_count", 0)) + 1,
                "last_message_at": now,
                "last_message_preview": preview(masked),
            }
            if doc.get("first_human_response_at") is None:
                extra["first_human_response_at"] = now
            return decision, extra

        before, after, decision = await self._transition(conversation_id, decide)
        with bind_context(conversation_id=conversation_id):
            if before.get("first_human_response_at") is None:
                metrics.FIRST_HUMAN_RESPONSE_SECONDS.labels(after["channel"]).observe(
                    max(0.0, (now - before["opened_at"]).total_seconds())
                )
            await self._store_message(
                before, message_id, actor.name, text, direction="outbound", at=now
            )
            staged = Staged.empty()
            for action in decision.actions:
                self._action(
                    staged,
                    after,
                    action,
                    actor.name,
                    text=masked if action == "message_sent" else None,
                )
            self._outbound(staged, after, message_id, actor.name, text)
            await self._commit(staged)
            await self.holds.on_message(conversation_id, actor.name, text, now)
            log.info("reply_sent", actions=list(decision.actions), actor=actor.name)
        return after, message_id

    async def reveal(self, conversation_id: str, message_id: str, actor: Actor) -> str:
        """The original text of a message that held a secret, for the holder only; audited."""
        doc = await self._load(conversation_id)
        domain.may_reveal(Conversation.from_doc(doc), actor)
        message = await self.store.get_message(conversation_id, message_id)
        if message is None:
            raise domain.MessageNotFound(f"message {message_id} not found in this conversation")
        sealed = message.get("sealed")
        text = self.box.open(sealed) if sealed else (message.get("text") or "")
        await self.store.record_event(
            {
                "_id": str(uuid.uuid4()),
                "conversation_id": conversation_id,
                "action": "secret_revealed",
                "actor": actor.name,
                "note": f"message {message_id}",
                "text": None,
                "change": None,
                "at": utcnow(),
            }
        )
        with bind_context(conversation_id=conversation_id):
            log.info("secret_revealed", actor=actor.name, message_id=message_id)
        return text

    # --- hold reminders ----------------------------------------------------------------------

    async def notify_hold(self, conversation_id: str, holder: str, since: datetime) -> None:
        """The holder asked the customer to wait and has not written since: remind them."""
        doc = await self.store.get(conversation_id)
        if doc is None or doc["status"] == domain.CLOSED or doc.get("holder") != holder:
            return
        staged = Staged.empty()
        self._action(
            staged,
            doc,
            "hold_reminder",
            "system",
            event_id=derived_id(conversation_id, "hold", since.isoformat()),
            note=f"{holder}: el cliente espera desde {since.isoformat()}",
        )
        await self._commit(staged)

    # --- reading --------------------------------------------------------------------------------

    async def view(self, conversation_id: str) -> Document:
        doc = await self._load(conversation_id)
        tags: list[str] = []
        if doc.get("customer_id"):
            customer = await self.store.customer(doc["customer_id"])
            tags = list(customer.get("tags", [])) if customer else []
        return {
            "conversation": doc,
            "customer_tags": tags,
            "messages": await self.store.messages_of(conversation_id),
            "events": await self.store.events_of(conversation_id),
            "notes": await self.store.notes_of(conversation_id),
        }

    async def events(self, conversation_id: str) -> list[Document]:
        await self._load(conversation_id)
        return await self.store.events_of(conversation_id)

    async def quality(self, conversation_id: str) -> dict[str, Any]:
        doc = await self._load(conversation_id)
        lines = [
            ChatLine(author=domain.author_kind(m["author"]), text=m.get("text") or "", at=m["at"])  # type: ignore[arg-type]
            for m in await self.store.messages_of(conversation_id)
        ]
        report = score_chat(
            lines,
            live=doc["status"] != domain.CLOSED,
            ticket_numbers=tuple(doc.get("service_numbers", [])),
        )
        return report.as_dict()

    async def refresh_gauges(self) -> None:
        counts = await self.store.count_by_kind_and_status()
        for kind in ("lara", "agent", "staff", "queue"):
            for status in (domain.OPEN, domain.CLOSED, domain.SERVICE_GENERATED):
                metrics.CONVERSATIONS.labels(kind, status).set(counts.get((kind, status), 0))
