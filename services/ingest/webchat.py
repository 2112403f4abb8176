"""Our web chatbot's JSON → InboundMessage (pure, no I/O).

The widget posts one customer message at a time, with the bot transcript that came before
it, and whatever the customer typed in the pre-chat form (name, email, phone, document).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.ingest.batch import Batch
from services.ingest.errors import InvalidPayload
from services.ingest.fields import e164, from_epoch
from shared.contracts.base import Identity
from shared.contracts.inbound import ContactInfo, InboundMessage, TranscriptLine

ID_PATTERN = r"^[A-Za-z0-9_.:@\-]+$"


class WebchatTranscriptLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    author: str = Field(pattern=r"^(bot|customer)$")
    text: str = Field(max_length=4096)
    at: str | None = Field(default=None, max_length=64)


class WebchatMessage(BaseModel):
    """What the widget sends. Unknown fields are ignored so the widget can evolve first."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    session_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    message_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    text: str = Field(min_length=1, max_length=4096)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    document: str | None = Field(default=None, max_length=40)
    sent_at: int | None = Field(default=None, ge=0, description="epoch milliseconds")
    transcript: list[WebchatTranscriptLine] = Field(default_factory=list, max_length=200)


def message_key(session_id: str, message_id: str) -> str:
    return f"wc:{session_id}:{message_id}"


def explain(exc: ValidationError) -> str:
    """A short, readable summary of what is wrong: `field: problem; ...` (no input values)."""
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def normalize(body: Any, received_at: datetime) -> Batch:
    if not isinstance(body, dict):
        raise InvalidPayload("web chat message must be a JSON object")
    try:
        msg = WebchatMessage.model_validate(body)
    except ValidationError as exc:
        raise InvalidPayload(explain(exc)) from exc
    occurred = from_epoch(msg.sent_at, millis=True) if msg.sent_at is not None else None
    event = InboundMessage(
        event_id=message_key(msg.session_id, msg.message_id),
        occurred_at=occurred or received_at,
        channel="webchat",
        identity=Identity(channel="webchat", external_id=msg.session_id),
        contact=ContactInfo(
            name=msg.name or None,
            email=msg.email or None,
            # A phone that is not a phone number is dropped rather than stored wrong.
            phone=e164(msg.phone) if msg.phone else None,
            document_number=msg.document or None,
        ),
        external_message_id=msg.message_id,
        message_type="text",
        text=msg.text,
        transcript=[
            TranscriptLine(author=line.author, text=line.text, at=line.at)  # type: ignore[arg-type]
            for line in msg.transcript
        ],
    )
    return Batch(events=[event])
