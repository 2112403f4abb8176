"""One place for a conversation's bookkeeping: a `Draft` is the conversation being changed by
one use case (an inbound batch, a staff action, a projection), in memory.

Every message goes through `append_message` (sequence, count, preview, last message time,
what the bot remembers); every action through `record` (audit trail, bus event). The use
case then commits the draft in ONE document write (`Store.commit`): the conversation's new
state together with its staged effects (the messages, audit entries and notes to insert,
the events to publish). Nothing is counted that is not written with it, so a redelivery or
a crash can neither double-count a message nor lose the event that announces a change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.routing import domain, metrics
from services.routing.dialogue import Turn
from shared.contracts import (
    CallInfo,
    ConversationEvent,
    ConversationSnapshot,
    Event,
    FirstResponse,
    Identity,
    OutboundMessage,
    Satisfaction,
    utcnow,
)
from shared.mongo import Document

_NS = uuid.UUID("6f1d9a52-3c1e-4c55-9d0e-52a7b0f0c0de")
PREVIEW_CHARS = 120
# What the bot remembers of a conversation: enough to notice a repeated question or a
# second failed answer, kept in the conversation itself so answering costs no query.
BOT_MEMORY = 20

# When several actions of one conversation are committed together, the bus gets one
# event carrying the final snapshot, named after the most significant action (read models
# keep the newest snapshot; every action stays in the audit trail).
ACTION_PRIORITY = (
    "opened",
    "delivery_failed",
    "closed",
    "escalated",
    "reassigned",
    "assigned",
    "taken",
    "returned",
    "status_changed",
    "call_updated",
    "message_received",
    "message_sent",
    "note_added",
    "hold_reminder",
    "seen",
)


def derived_id(*parts: str) -> str:
    """A stable id derived from a cause, so a redelivery produces the same ids."""
    return str(uuid.uuid5(_NS, ":".join(parts)))


def preview(masked: str | None) -> str | None:
    if masked is None:
        return None
    return masked if len(masked) <= PREVIEW_CHARS else masked[: PREVIEW_CHARS - 1] + "…"


def snapshot(doc: Document) -> ConversationSnapshot:
    call = doc.get("call")
    answer = doc.get("satisfaction")
    first = doc.get("first_response")
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
        satisfaction_asked_at=doc.get("satisfaction_asked_at"),
        satisfaction=Satisfaction(score=answer["score"], answered_at=answer["answered_at"])
        if answer
        else None,
        first_response=FirstResponse(**first) if first else None,
    )


def new_conversation(
    conversation_id: str, channel: str, identity: Identity, opened_by: str, at: datetime
) -> Document:
    return {
        "_id": conversation_id,
        "channel": channel,
        "identity": identity.model_dump(),
        "identity_key": identity.key,
        # Set while the conversation is open: a unique sparse index makes "one open
        # conversation per customer and channel" hold whoever writes.
        "open_identity": identity.key,
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
        "last_inbound_at": None,
        "message_count": 0,
        "customer_messages": 0,
        "seen_marks": [],
        "call": None,
        "customer_id": None,
        "customer_name": None,
        "document_number": None,
        "bot_memory": [],
        "version": 0,
        "outbox": [],
    }


@dataclass
class Recorded:
    action: str
    actor: str
    note: str | None
    text: str | None
    change: str | None


@dataclass
class Draft:
    """A conversation being changed in memory; `Store.commit` writes it in one go."""

    doc: Document
    base_version: int | None  # None: a conversation this draft creates
    messages: list[Document] = field(default_factory=list)
    audit: list[Document] = field(default_factory=list)
    notes: list[Document] = field(default_factory=list)
    outbound: list[OutboundMessage] = field(default_factory=list)
    recorded: list[Recorded] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    causes: set[str] = field(default_factory=set)  # inbound event ids this draft applies
    staged: list[Document] = field(default_factory=list)  # effects written with the commit
    unset: set[str] = field(default_factory=set)  # fields the commit removes
    # Run by the use case once the draft is written (metrics: counted once, not per try).
    on_written: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def of(cls, doc: Document) -> Draft:
        return cls(doc=dict(doc), base_version=int(doc.get("version", 0)))

    @classmethod
    def opening(cls, doc: Document) -> Draft:
        return cls(doc=dict(doc), base_version=None)

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def conversation(self) -> domain.Conversation:
        return domain.Conversation.from_doc(self.doc)

    @property
    def changed(self) -> bool:
        return bool(self.recorded or self.messages or self.notes or self.base_version is None)

    def written(self) -> None:
        """The draft is written: count what it counts (once per write, not per try)."""
        for count in self.on_written:
            count()
        self.on_written.clear()

    def set(self, **changes: Any) -> None:
        self.doc.update(changes)

    def apply(self, decision: domain.Decision) -> None:
        self.doc.update(decision.changes)
        self.doc["last_activity_at"] = utcnow()

    # --- messages ------------------------------------------------------------------------

    def append_message(
        self,
        message_id: str,
        author: str,
        masked: str | None,
        *,
        direction: str,
        at: datetime | None = None,
        message_type: str = "text",
        sealed: str | None = None,
        extra: Document | None = None,
        survey: bool = False,
    ) -> Document:
        """Append one message: it takes the next sequence number, counts once, and becomes
        the preview. The conversation's order is this sequence, not any clock. A `survey`
        message (the satisfaction question, its answer, the thanks) of a closed conversation
        is counted in sequence only: the preview stays the conversation's last chat line,
        and an answer is nobody's unread message."""
        now = utcnow()
        seq = int(self.doc.get("message_count", 0))
        message: Document = {
            "_id": message_id,
            "conversation_id": self.id,
            "identity_key": self.doc["identity_key"],
            "direction": direction,
            "author": author,
            "text": masked,
            "message_type": message_type,
            "at": now,
            "seq": seq,
            "delivery": "pending" if direction == "outbound" else None,
            **(extra or {}),
        }
        if at is not None:
            message["provider_at"] = at
        if sealed:
            message["sealed"] = sealed
        if survey:
            message["survey"] = True
        self.messages.append(message)
        self.doc["message_count"] = seq + 1
        self.doc["last_activity_at"] = now
        if survey:
            if direction == "inbound":
                self.doc["last_inbound_at"] = now
            return message
        self.doc["last_message_at"] = now
        self.doc["last_message_preview"] = preview(masked)
        self.doc["last_activity_at"] = now
        if direction == "inbound" and author == "customer":
            # What each person has not read yet is counted against this (`domain.unread`).
            self.doc["customer_messages"] = int(self.doc.get("customer_messages", 0)) + 1
        if direction == "inbound":
            # The customer-service window (24 h on WhatsApp) runs from the customer's last
            # message, as the platform received it (a provider's clock is not ours; a reply
            # Meta refuses anyway falls back to the template when the gateway sends it).
            self.doc["last_inbound_at"] = now
        if masked:
            memory = list(self.doc.get("bot_memory") or [])
            memory.append({"author": domain.author_kind(author), "text": masked, "sealed": sealed})
            self.doc["bot_memory"] = memory[-BOT_MEMORY:]
        return message

    def bot_memory(self, unseal: Any) -> list[Turn]:
        """What the bot remembers, oldest first, with sealed originals opened."""
        turns = []
        for entry in self.doc.get("bot_memory") or []:
            text = unseal(entry["sealed"]) if entry.get("sealed") else entry["text"]
            turns.append(Turn(author=entry["author"], text=text))
        return turns

    # --- actions -------------------------------------------------------------------------

    def record(
        self,
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
        """Record an action: an audit-trail entry now, and its part of the bus event."""
        self.recorded.append(Recorded(action, actor, note, text, change))
        metrics.ACTIONS.labels(action).inc()
        if audit:
            entry_id = event_id or str(uuid.uuid4())
            self.event_ids.append(entry_id)
            self.audit.append(
                {
                    "_id": entry_id,
                    "conversation_id": self.id,
                    "action": action,
                    "actor": actor,
                    "note": note,
                    "text": text,
                    "change": change,
                    "at": at or utcnow(),
                }
            )

    def add_note(self, author: str, text: str, to: str | None, note_id: str | None = None) -> None:
        self.notes.append(
            {
                "_id": note_id or str(uuid.uuid4()),
                "conversation_id": self.id,
                "author": author,
                "text": text,
                "to": to,
                "at": utcnow(),
            }
        )

    def send(self, message_id: str, author: str, text: str) -> None:
        """Hand a reply to the channel connector (read-only channels get none)."""
        if self.doc["channel"] in domain.READ_ONLY_CHANNELS:
            return
        self.outbound.append(
            OutboundMessage(
                event_id=message_id,
                conversation_id=self.id,
                channel=self.doc["channel"],
                identity=Identity(**self.doc["identity"]),
                author=author,
                text=text,
                customer_last_inbound_at=self.doc.get("last_inbound_at"),
            )
        )

    def events(self) -> list[Event]:
        """What this draft publishes once committed: one conversation event with the final
        snapshot (if anything was recorded), then the replies for the connectors."""
        out: list[Event] = []
        if self.recorded:
            actions = [r.action for r in self.recorded]
            main = min(
                self.recorded,
                key=lambda r: (
                    ACTION_PRIORITY.index(r.action) if r.action in ACTION_PRIORITY else 99
                ),
            )
            out.append(
                ConversationEvent(
                    event_id=f"conversation:{self.id}:v{self.doc.get('version', 0)}",
                    action=main.action,  # type: ignore[arg-type]
                    conversation=snapshot(self.doc),
                    actor=main.actor,
                    note=main.note,
                    text=next((r.text for r in reversed(self.recorded) if r.text), None),
                    change=main.change,
                    actions=actions,  # type: ignore[arg-type]
                    message_ids=[m["_id"] for m in self.messages],
                )
            )
        out.extend(self.outbound)
        return out
