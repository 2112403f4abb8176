"""What ingest publishes: channel traffic normalized to one shape per kind.

Routing keys: `inbound.<channel>.message`, `inbound.<channel>.status`, `inbound.ivr.call`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shared.contracts.base import Channel, Event, Identity

MessageType = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "postback",
    "reaction",
    "order",
    "system",
    "revoke",
    "edit",
    "unsupported",
]


class ContactInfo(BaseModel):
    """Whatever the channel tells us about the person; every field is optional."""

    name: str | None = None
    phone: str | None = None  # E.164 with '+'
    email: str | None = None
    document_number: str | None = None


class Attachment(BaseModel):
    kind: str
    media_id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None


class Location(BaseModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class TranscriptLine(BaseModel):
    """One line of the web chatbot's conversation before the customer reached us."""

    author: Literal["bot", "customer"]
    text: str
    at: str | None = None


class InboundMessage(Event):
    """A customer wrote (or clicked, reacted, sent media) on a channel."""

    kind: Literal["message"] = "message"
    channel: Channel
    identity: Identity
    contact: ContactInfo = Field(default_factory=ContactInfo)
    external_message_id: str
    message_type: MessageType
    text: str | None = None
    payload: str | None = None  # button / quick-reply / postback payload
    attachments: list[Attachment] = Field(default_factory=list)
    location: Location | None = None
    reply_to: str | None = None  # external id of the message this one answers or reacts to
    transcript: list[TranscriptLine] = Field(default_factory=list)
    line_id: str | None = None  # the business line: WhatsApp phone_number_id, Messenger page id
    raw: dict[str, Any] = Field(default_factory=dict)

    def routing_key(self) -> str:
        return f"inbound.{self.channel}.message"


DeliveryState = Literal["sent", "delivered", "read", "played", "failed"]


class DeliveryStatus(Event):
    """A receipt for a message we sent: it never opens a conversation.

    Two sources: the channel's status webhooks (matched on `external_message_id`), and our
    own delivery consumer after it called the provider (`message_id` = our outbound
    message's `event_id`; "sent" carries the provider's id in `external_message_id`,
    "failed" carries the provider's `reason`).
    """

    kind: Literal["status"] = "status"
    channel: Channel
    identity: Identity
    external_message_id: str | None = None  # None for Messenger watermarks
    status: DeliveryState
    watermark: int | None = None  # Messenger: everything before this epoch-ms is delivered/read
    errors: list[dict[str, Any]] = Field(default_factory=list)
    message_id: str | None = None  # our outbound message id, when we are the source
    reason: str | None = None  # failed: the provider's reason, readable by staff
    error_code: str | None = None  # failed: the provider's code (e.g. "131047"), or ours

    def routing_key(self) -> str:
        return f"inbound.{self.channel}.status"


CallStep = Literal["incoming", "gather", "status"]


class CallEvent(Event):
    """One step of an IVR call: the call arrived, the caller chose a menu option, or it ended."""

    kind: Literal["call"] = "call"
    channel: Literal["ivr"] = "ivr"
    identity: Identity
    contact: ContactInfo = Field(default_factory=ContactInfo)
    call_sid: str
    step: CallStep
    call_status: str | None = None
    city: str | None = None
    digits: str | None = None
    speech: str | None = None
    motive: str | None = None  # "soporte técnico", "consulta de servicio", "ventas", ...
    duration_seconds: int | None = None

    def routing_key(self) -> str:
        return "inbound.ivr.call"


InboundEvent = InboundMessage | DeliveryStatus | CallEvent


def parse_inbound(body: dict[str, Any] | str | bytes) -> InboundEvent:
    """Decode any `inbound.#` message by its `kind`."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[InboundEvent] = TypeAdapter(
        Annotated[InboundEvent, Field(discriminator="kind")]
    )
    if isinstance(body, dict):
        return adapter.validate_python(body)
    return adapter.validate_json(body)
