"""Why a webhook is refused; api.py maps each to one HTTP status code."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every refusal; the message is safe to show to the caller (no body content)."""

    reason = "error"


class SignatureInvalid(IngestError):
    """The caller could not prove it is the channel (401). Nothing was published."""

    reason = "signature"


class PayloadTooLarge(IngestError):
    """The body exceeds `max_webhook_bytes` (413)."""

    reason = "too_large"


class MalformedBody(IngestError):
    """Not JSON / not a form / too deep / too many items (400)."""

    reason = "malformed"


class InvalidPayload(IngestError):
    """Well-formed, but not the shape the channel promises (422)."""

    reason = "schema"


class PublishFailed(IngestError):
    """The broker (or the dedupe store) did not confirm; the channel should retry (503)."""

    reason = "unavailable"
