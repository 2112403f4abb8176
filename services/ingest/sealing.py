"""Credentials never reach the bus in cleartext: mask what the customer typed, seal the original.

Applied to every event of a verified webhook before its first publish (HTTP and `ingest.raw`
alike). Each free-text field is masked with `shared.secrets.mask_secrets`; when that changed
it, the original is sealed (Fernet, SECRETS_KEY) into the field's `sealed_*` companion (see
`shared.contracts.inbound`). A field without secrets is left as it came, with nothing sealed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from shared.contracts.inbound import (
    Attachment,
    CallEvent,
    InboundEvent,
    InboundMessage,
    TranscriptLine,
)
from shared.secrets import SecretBox, mask_secrets


@lru_cache(maxsize=4)
def box_for(key_material: str) -> SecretBox:
    """One box per key (deriving the Fernet key for every webhook would be wasted work)."""
    return SecretBox(key_material)


def _masked_tree(value: Any) -> Any:
    """Every string inside a JSON value masked (dict keys stay: they are the channel's)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: _masked_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_tree(v) for v in value]
    return value


def _caption(attachment: Attachment, box: SecretBox) -> Attachment:
    caption, sealed = box.mask(attachment.caption)
    if sealed is None:
        return attachment
    return attachment.model_copy(update={"caption": caption, "sealed_caption": sealed})


def _line(line: TranscriptLine, box: SecretBox) -> TranscriptLine:
    text, sealed = box.mask(line.text)
    if sealed is None or text is None:
        return line
    return line.model_copy(update={"text": text, "sealed_text": sealed})


def _message(msg: InboundMessage, box: SecretBox) -> InboundMessage:
    text, sealed_text = box.mask(msg.text)
    payload, sealed_payload = box.mask(msg.payload)
    raw = _masked_tree(msg.raw)
    sealed_raw = box.seal(json.dumps(msg.raw)) if raw != msg.raw else None
    return msg.model_copy(
        update={
            "text": text,
            "sealed_text": sealed_text or msg.sealed_text,
            "payload": payload,
            "sealed_payload": sealed_payload or msg.sealed_payload,
            "raw": raw,
            "sealed_raw": sealed_raw or msg.sealed_raw,
            # A name typed into the web chat's form is free text too ("clave: Jacaranda77");
            # it is shown, never opened, so it is masked and not sealed.
            "contact": msg.contact.model_copy(update={"name": mask_secrets(msg.contact.name)}),
            "attachments": [_caption(a, box) for a in msg.attachments],
            "transcript": [_line(line, box) for line in msg.transcript],
        }
    )


def seal_event(event: InboundEvent, box: SecretBox) -> InboundEvent:
    """The event as it may travel: masked text, originals sealed. Idempotent on its output."""
    if isinstance(event, InboundMessage):
        return _message(event, box)
    if isinstance(event, CallEvent):
        speech, sealed = box.mask(event.speech)
        if sealed is None:
            return event
        return event.model_copy(update={"speech": speech, "sealed_speech": sealed})
    return event
