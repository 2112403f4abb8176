"""What routing publishes: `conversation.<action>` and `outbound.<channel>.message`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from shared.contracts.base import Channel, Event, Identity
from shared.contracts.inbound import Attachment

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
    "delivery_failed",  # a reply could not be delivered: `note` carries the provider's reason
]


class CallInfo(BaseModel):
    call_sid: str
    motive: str | None = None
    city: str | None = None
    call_status: str | None = None
    caller_number: str | None = None


class Satisfaction(BaseModel):
    """The customer's answer to the satisfaction question asked when the conversation was
    closed: a score from 1 (bad) to 5 (very good)."""

    score: int = Field(ge=1, le=5)
    answered_at: datetime


class FirstResponse(BaseModel):
    """The channel's first-response target of a conversation that reached people (Lara
    handed it over, or a person took it): `due_at` = then + `target_seconds`. `missed` once
    no person wrote to the customer by `due_at` (recorded once, whenever it is noticed)."""

    target_seconds: float
    due_at: datetime
    answered_at: datetime | None = None  # the first message a person sent
    missed: bool = False


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
    # Optional (older producers omit them). When the satisfaction question was sent, and the
    # customer's answer once given.
    satisfaction_asked_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    # Set once the conversation reached people on a channel with a first-response target.
    first_response: FirstResponse | None = None


class ConversationEvent(Event):
    action: ConversationAction
    conversation: ConversationSnapshot
    actor: str  # "customer", "lara", "agent:<id>", "staff:<id>", "system"
    note: str | None = None
    text: str | None = None  # masked text of the message concerned, if any
    # What changed when the action alone does not say it (e.g. status_changed:
    # "ticket_generated", "customer_linked", "customer_merged", "customer_anonymized",
    # "satisfaction_asked", "satisfaction_answered", "first_response_missed").
    change: str | None = None
    # Every action this event stands for, in order: a batch that appended a message and
    # let Lara answer publishes one event (the most significant action names it) with the
    # snapshot after all of them. Empty in events of older producers: read `action`.
    actions: list[ConversationAction] = Field(default_factory=list)
    # The messages this event's change appended, in order (stored before it was published).
    message_ids: list[str] = Field(default_factory=list)

    def routing_key(self) -> str:
        return f"conversation.{self.action}"


class TemplateRef(BaseModel):
    """A WhatsApp message template approved by Meta: its name, language and the body
    parameters in order ({{1}}, {{2}}, ...)."""

    name: str = Field(min_length=1, max_length=512)
    language: str = "es"
    parameters: list[str] = Field(default_factory=list)


class OutboundMessage(Event):
    """A reply for the channel connector to deliver to the customer.

    `event_id` is our message id: the connector sends it at most once per id and answers
    with a `DeliveryStatus` carrying it as `message_id`. Either `conversation_id` (a chat
    reply) or `consultation_id` (a portal consultation answered by WhatsApp) is set.
    """

    conversation_id: str | None = None
    channel: Channel
    identity: Identity
    author: str
    text: str
    consultation_id: str | None = None
    # The customer's last inbound message in this conversation: decides the 24-hour
    # customer-service window. None = unknown: sent as a free reply, and WhatsApp's
    # "window closed" answer (131047) falls back to the configured template.
    customer_last_inbound_at: AwareDatetime | None = None
    template: TemplateRef | None = None  # send exactly this template (WhatsApp)
    media: list[Attachment] = Field(default_factory=list)  # sent by link (`url`)

    def routing_key(self) -> str:
        return f"outbound.{self.channel}.message"
