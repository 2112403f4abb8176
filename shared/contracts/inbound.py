"""What ingest publishes: channel traffic normalized to one shape per kind.

Routing keys: `inbound.<channel>.message`, `inbound.<channel>.status`, `inbound.ivr.call`.

No cleartext credentials on the bus. Ingest masks what a customer typed before the first
publish (`shared.secrets.mask_secrets`: the credential value becomes `••••••`, the rest of the
sentence stays) in every free-text field: `InboundMessage.text`, `payload`, each attachment's
`caption`, each `transcript` line's `text`, every string inside `raw`, and a call's `speech`.
When masking changed a field, the original travels next to it sealed with Fernet
(`shared.secrets.SecretBox` keyed by SECRETS_KEY): `sealed_text`, `sealed_payload`,
`Attachment.sealed_caption`, `TranscriptLine.sealed_text`, `sealed_raw` (the original `raw`
as JSON) and `CallEvent.sealed_speech`. A sealed field is None when its field held no secret,
so the visible field is then the original itself.

Consumers that need what the customer really wrote (Lara, the quality review, the holder's
audited reveal) open it with `SecretBox(settings.secrets_key)`, e.g. `msg.opened(box)`; what
they store and show stays masked, with the sealed original kept beside it. All these fields
are optional: events published before they existed still validate (with nothing sealed).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field, TypeAdapter

from shared.contracts.base import Channel, Event, Identity


class Opener(Protocol):
    """What opens a sealed field: `shared.secrets.SecretBox`."""

    def open(self, token: str) -> str: ...


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
    caption: str | None = None  # masked
    filename: str | None = None
    sealed_caption: str | None = None  # the original caption, sealed, when it held a secret


class Location(BaseModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class TranscriptLine(BaseModel):
    """One line of the web chatbot's conversation before the customer reached us."""

    author: Literal["bot", "customer"]
    text: str  # masked
    at: str | None = None
    sealed_text: str | None = None  # the original line, sealed, when it held a secret


class InboundMessage(Event):
    """A customer wrote (or clicked, reacted, sent media) on a channel.

    `text`, `payload`, captions, transcript lines and `raw` are masked; each `sealed_*` field
    holds its field's original, sealed, only when masking changed it (see the module's
    docstring). `opened(box)` gives the message as the customer wrote it.

    An `edit` or a `revoke` (WhatsApp: the customer edited or deleted a message) is nothing
    new said: it changes the message whose provider id is `reply_to` (an edit's new text in
    `text`); a consumer must not count it or answer it as a customer message.
    """

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
    sealed_text: str | None = None  # Fernet(SECRETS_KEY) of the original `text`
    sealed_payload: str | None = None  # of the original `payload`
    sealed_raw: str | None = None  # of the original `raw`, as JSON

    def routing_key(self) -> str:
        return f"inbound.{self.channel}.message"

    def opened(self, box: Opener) -> InboundMessage:
        """The message as the customer wrote it: every sealed field opened into its visible
        field (the sealed fields stay, so the original can be stored sealed as it came).
        Raises ValueError when a field was sealed with another key."""
        update: dict[str, Any] = {}
        if self.sealed_text:
            update["text"] = box.open(self.sealed_text)
        if self.sealed_payload:
            update["payload"] = box.open(self.sealed_payload)
        if self.sealed_raw:
            update["raw"] = json.loads(box.open(self.sealed_raw))
        if any(a.sealed_caption for a in self.attachments):
            update["attachments"] = [
                a.model_copy(update={"caption": box.open(a.sealed_caption)})
                if a.sealed_caption
                else a
                for a in self.attachments
            ]
        if any(line.sealed_text for line in self.transcript):
            update["transcript"] = [
                line.model_copy(update={"text": box.open(line.sealed_text)})
                if line.sealed_text
                else line
                for line in self.transcript
            ]
        return self.model_copy(update=update)


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


# The IVR menu's option for a caller who asks for a person: the call waits for an agent.
PERSON_MOTIVE = "hablar con una persona"


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
    speech: str | None = None  # masked
    motive: str | None = None  # "soporte técnico", "consulta de servicio", "ventas", ...
    duration_seconds: int | None = None
    sealed_speech: str | None = None  # the original speech, sealed, when it held a secret
    # What the IVR bot said to the caller in answer to this step (the TwiML <Say> text):
    # the menu, the menu again after a choice it did not understand, or the goodbye.
    prompt: str | None = None

    def routing_key(self) -> str:
        return "inbound.ivr.call"

    def opened(self, box: Opener) -> CallEvent:
        """The call step with the caller's words as recognised (see InboundMessage.opened)."""
        if not self.sealed_speech:
            return self
        return self.model_copy(update={"speech": box.open(self.sealed_speech)})


InboundEvent = InboundMessage | DeliveryStatus | CallEvent


_INBOUND: TypeAdapter[InboundEvent] = TypeAdapter(
    Annotated[InboundEvent, Field(discriminator="kind")]
)


def parse_inbound(body: dict[str, Any] | str | bytes) -> InboundEvent:
    """Decode any `inbound.#` message by its `kind`."""
    if isinstance(body, dict):
        return _INBOUND.validate_python(body)
    return _INBOUND.validate_json(body)
