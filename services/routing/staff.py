"""Staff use cases: escalate, assign, take, return, close, notes, replies, seen, reveal.

Each is load → domain decision → one commit: the conversation's new state and the effects
that announce it (audit entry, note, message, bus event) are written in ONE document write,
guarded by the version the decision was made on. A lost race is decided again against the
new state (so the second `take` sees the first and is refused). A crash after the write
cannot lose the event: it waits in the document for the relay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.routing import domain, metrics
from services.routing.domain import Actor, Decision
from services.routing.first_response import ResponseTargets
from services.routing.holds import HoldTimers
from services.routing.satisfaction import Survey
from services.routing.store import ChangingTooFast, Store
from services.routing.timeline import Draft, derived_id
from services.routing.window import check_reply_window
from shared.contracts import utcnow
from shared.failpoints import crash_point
from shared.logging import bind_context, get_logger
from shared.mongo import Document
from shared.secrets import SecretBox, contains_secret, mask_secrets

log = get_logger("routing.staff")

CAS_ATTEMPTS = 100


class People(Protocol):
    """The directory of shared/access: routing reads people there, never another service."""

    async def person(self, user_id: str) -> domain.Someone | None: ...


class Nobody:
    """No directory: every person a conversation would be handed to is unknown."""

    async def person(self, user_id: str) -> domain.Someone | None:
        return None


class StaffActions:
    def __init__(
        self,
        store: Store,
        holds: HoldTimers,
        box: SecretBox,
        tz: str,
        template_configured: bool = False,
        people: People | None = None,
        survey: Survey | None = None,
        targets: ResponseTargets | None = None,
    ) -> None:
        self.store = store
        self.survey = survey or Survey.off()
        self.targets = targets or ResponseTargets()
        self.people = people or Nobody()
        self.holds = holds
        self.box = box
        self.tz = tz
        # WHATSAPP_TEMPLATE_NAME is set: a late WhatsApp reply can still go, as the template.
        self.template_configured = template_configured

    async def _person(self, to: str | None) -> domain.Someone | None:
        """Who the directory says `to` is (None: nobody, or no target given)."""
        if to is None or not to.strip():
            return None
        return await self.people.person(domain.target_id(to))

    async def _load(self, conversation_id: str) -> Document:
        doc = await self.store.get(conversation_id)
        if doc is None:
            raise domain.ConversationNotFound(f"conversation {conversation_id} not found")
        return doc

    async def _commit(self, conversation_id: str, decide: Callable[[Draft], None]) -> Draft:
        """Load, decide, write if nobody changed the conversation meanwhile; else again."""

        def change(draft: Draft) -> bool:
            decide(draft)
            return True

        try:
            [draft] = await self.store.change(
                [await self._load(conversation_id)], change, flush=False, rounds=CAS_ATTEMPTS
            )
        except ChangingTooFast as exc:
            raise domain.AlreadyTaken("the conversation is changing too fast; try again") from exc
        # Written, with its events staged in the same write: a crash from here on delays
        # them (the relay publishes them), it cannot lose them.
        draft.written()
        crash_point("routing.staff.after_write")
        await self.store.flush([draft])
        return draft

    def _decided(
        self, draft: Draft, decision: Decision, actor: Actor, note_to: str | None = None
    ) -> None:
        draft.apply(decision)
        self.targets.reached_people(draft, utcnow())
        if decision.note:
            draft.add_note(actor.name, decision.note, note_to)
        for action in decision.actions:
            draft.record(action, actor.name, note=decision.note)

    async def _act(
        self,
        conversation_id: str,
        decide: Callable[[domain.Conversation], Decision],
        actor: Actor,
        note_to: str | None = None,
    ) -> Draft:
        draft = await self._commit(
            conversation_id, lambda d: self._decided(d, decide(d.conversation), actor, note_to)
        )
        with bind_context(conversation_id=conversation_id):
            log.info(
                "conversation_action", actions=[r.action for r in draft.recorded], actor=actor.name
            )
        return draft

    async def escalate(
        self, conversation_id: str, actor: Actor, note: str | None, to: str | None
    ) -> Document:
        escalated_by: list[str | None] = [None]  # the holder the winning decision saw
        person = await self._person(to)

        def decide(conv: domain.Conversation) -> Decision:
            escalated_by[0] = conv.holder
            return domain.escalate(conv, actor, note, to, person)

        draft = await self._act(conversation_id, decide, actor)
        metrics.ESCALATIONS.labels(domain.holder_kind(escalated_by[0])).inc()
        return draft.doc

    async def assign(
        self, conversation_id: str, actor: Actor, to: str | None, note: str | None
    ) -> Document:
        person = await self._person(to)
        draft = await self._act(
            conversation_id, lambda conv: domain.assign(conv, actor, to, note, person), actor
        )
        metrics.REASSIGNMENTS.labels(
            draft.recorded[0].action, domain.holder_kind(draft.doc["holder"])
        ).inc()
        return draft.doc

    async def take(self, conversation_id: str, actor: Actor) -> Document:
        return (await self._act(conversation_id, lambda c: domain.take(c, actor), actor)).doc

    async def give_back(self, conversation_id: str, actor: Actor) -> Document:
        return (await self._act(conversation_id, lambda c: domain.give_back(c, actor), actor)).doc

    async def close(self, conversation_id: str, actor: Actor, note: str | None = None) -> Document:
        now = utcnow()

        def decide(draft: Draft) -> None:
            self._decided(draft, domain.close(draft.conversation, actor, note), actor)
            draft.set(closed_at=now)
            # The slot is free: the customer's next message opens a new conversation (or,
            # when it is a score, answers the satisfaction question asked in this write).
            draft.doc.pop("open_identity", None)
            draft.unset.add("open_identity")
            self.targets.closed(draft, now)
            self.survey.ask(draft, now)

        draft = await self._commit(conversation_id, decide)
        await self.holds.on_closed(conversation_id)
        opened_at: datetime = draft.doc["opened_at"]
        metrics.TIME_TO_CLOSE_SECONDS.labels(draft.doc["channel"]).observe(
            max(0.0, (now - opened_at).total_seconds())
        )
        return draft.doc

    async def add_note(
        self, conversation_id: str, actor: Actor, text: str | None, to: str | None
    ) -> Document:
        if to not in (None, "lara", "agents"):
            raise domain.InvalidTarget("a note is addressed to 'lara', 'agents' or nobody")
        draft = await self._act(
            conversation_id,
            lambda conv: domain.add_note(conv, actor, text, to),  # type: ignore[arg-type]
            actor,
            note_to=to,
        )
        return draft.doc

    async def seen(self, conversation_id: str, actor: Actor) -> tuple[Document, bool]:
        """The person opened the conversation: "seen" is recorded (audit trail, bus event,
        their unread count back to zero) once per new customer message, in one write; an
        open with nothing new writes nothing. Returns the conversation and whether a "seen"
        was recorded. Seeing does not move the conversation in the stream."""

        def change(draft: Draft) -> bool:
            count = int(draft.doc.get("customer_messages", 0))
            marks = list(draft.doc.get("seen_marks") or [])
            if not domain.see(actor, count, marks):
                return False
            draft.set(seen_marks=domain.mark_seen(marks, actor.name, count, utcnow()))
            draft.record("seen", actor.name)
            return True

        doc = await self._load(conversation_id)
        try:
            written = await self.store.change([doc], change, flush=False, rounds=CAS_ATTEMPTS)
        except ChangingTooFast as exc:
            raise domain.AlreadyTaken("the conversation is changing too fast; try again") from exc
        if not written:
            # Nothing new for this person (maybe another open of theirs just recorded it).
            return await self._load(conversation_id), False
        await self.store.flush(written)
        return written[0].doc, True

    async def reply(self, conversation_id: str, actor: Actor, text: str) -> tuple[Document, str]:
        """A person writes to the customer (a staff reply to someone else's conversation is a
        take-over). Returns the conversation and the new message id."""
        if not text or not text.strip():
            raise domain.NoteRequired("the message is empty")
        message_id = str(uuid.uuid4())
        masked = mask_secrets(text)
        sealed = self.box.seal(text) if contains_secret(text) else None
        first: list[bool] = []

        def decide(draft: Draft) -> None:
            decision = domain.reply(draft.conversation, actor)
            check_reply_window(
                draft.doc["channel"],
                draft.doc.get("last_inbound_at"),
                utcnow(),
                template_given=False,
                template_configured=self.template_configured,
            )
            draft.apply(decision)
            now = utcnow()
            self.targets.reached_people(draft, now)
            first[:] = [draft.doc.get("first_human_response_at") is None]
            if first[0]:
                draft.set(first_human_response_at=now)
                self.targets.answered(draft, now)
            draft.append_message(
                message_id, actor.name, masked, direction="outbound", sealed=sealed
            )
            for action in decision.actions:
                draft.record(action, actor.name, text=masked if action == "message_sent" else None)
            draft.send(message_id, actor.name, text)

        draft = await self._commit(conversation_id, decide)
        if first and first[0]:
            metrics.FIRST_HUMAN_RESPONSE_SECONDS.labels(draft.doc["channel"]).observe(
                max(0.0, (utcnow() - draft.doc["opened_at"]).total_seconds())
            )
        await self.holds.on_message(conversation_id, actor.name, text, utcnow())
        with bind_context(conversation_id=conversation_id):
            log.info("reply_sent", actor=actor.name)
        return draft.doc, message_id

    async def reveal(self, conversation_id: str, message_id: str, actor: Actor) -> str:
        """The original text of a message that held a secret, for the holder only; audited
        (the audit entry is written before the text is returned)."""
        doc = await self._load(conversation_id)
        domain.may_reveal(domain.Conversation.from_doc(doc), actor)
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

    async def notify_hold(
        self, conversation_id: str, holder: str, since: datetime, reminder: int = 0
    ) -> None:
        """The holder asked the customer to wait and has not written since: remind them.
        Each reminder of a wait has its own id (a repeat is not a duplicate)."""
        doc = await self.store.get(conversation_id)
        if doc is None or doc["status"] == domain.CLOSED or doc.get("holder") != holder:
            return
        local = _local_time(since, self.tz)

        def decide(draft: Draft) -> None:
            draft.record(
                "hold_reminder",
                "system",
                event_id=derived_id(conversation_id, "hold", since.isoformat(), str(reminder)),
                note=f"{holder}: el cliente espera desde las {local}",
            )

        await self._commit(conversation_id, decide)


def _local_time(at: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M")
