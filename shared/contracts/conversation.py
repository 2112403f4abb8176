"""What routing publishes: `conversation.<action>` and `outbound.<channel>.message`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.base import Channel, Event, Identity

ConversationStatus = Literal["abierta", "cerrada", "genero_servicio_tecnico"]

ConversationAction = Literal[
    "opened",
    "message_received",
    "message_sent",
    "seen",
    "assigned",
    "reassigned",
    "escalated",
    "taken",
    "returned",
    "closed",
    "note_added",
    "status_changed",
    "call_updated",
    "hold_reminder",
]


class CallInfo(BaseModel):
    call_sid: str
    motive: str | None = None
    city: str | None = None
    call_status: str | None = None
    caller_number: str | None = None


class ConversationSnapshot(BaseModel):
    """The conversation as it stands after the action; `version` grows with every change,
    so a read model can ignore a snapshot older than the one it holds."""

    conversation_id: str
    channel: Channel
    identity: Identity
    customer_id: str | None = None
    customer_name: str | None = None
    document_number: str | None = None
    status: ConversationStatus
    holder: str | None  # "lara", "agent:<id>", "staff:<id>", None = in a queue
    opened_at: datetime
    closed_at: datetime | None = None
    last_message_at: datetime | None = None
    last_message_preview: str | None = None  # secrets already masked
    message_count: int = 0
    call: CallInfo | None = None
    version: int
    queue: str | None = None  # when holder is None: "agentes" (after Lara) or "staff"


class ConversationEvent(Event):
    action: ConversationAction
    conversation: ConversationSnapshot
    actor: str  # "customer", "lara", "agent:<id>", "staff:<id>", "system"
    note: str | None = None
    text: str | None = None  # masked text of the message concerned, if any
    # What changed when the action alone does not say it (e.g. status_changed:
    # "ticket_generated", "customer_linked", "customer_merged", "customer_anonymized").
    change: str | None = None
    # Every action this event stands for, in order: a batch that appended a message and
    # let Lara answer publishes one event (the most significant action names it) with the
    # snapshot after all of them. Empty in events of older producers: read `action`.
    actions: list[ConversationAction] = Field(default_factory=list)

    def routing_key(self) -> str:
        return f"conversation.{self.action}"


class OutboundMessage(Event):
    """A reply for the channel connector to deliver to the customer."""

    conversation_id: str
    channel: Channel
    identity: Identity
    author: str
    text: str

    def routing_key(self) -> str:
        return f"outbound.{self.channel}.message"
