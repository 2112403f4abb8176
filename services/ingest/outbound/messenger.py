"""Messenger Send API: `POST /me/messages` with the Page access token, one request per part.

`messaging_type` RESPONSE inside the 24-hour window; outside it, a human's reply goes with
`MESSAGE_TAG` + `tag: HUMAN_AGENT` (allowed up to 7 days). Answer: `{"recipient_id",
"message_id"}`.
"""

from __future__ import annotations

from typing import Any

from services.ingest.outbound.text import MESSENGER_TEXT_MAX, split_text
from shared.contracts.conversation import OutboundMessage

PATH = "me/messages"
# Our attachment kinds → the Send API's attachment types.
ATTACHMENT_TYPES = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "document": "file",
    "file": "file",
}

# The Send API's 10 calls/s per Page covers messages with audio or video.
MEDIA_LIMITED = {"audio", "video"}


def attachment_type(part: dict[str, Any]) -> str | None:
    """The Send API attachment type of a request body, None for text."""
    attachment = (part.get("message") or {}).get("attachment")
    return attachment.get("type") if isinstance(attachment, dict) else None


def envelope(psid: str, human_agent: bool) -> dict[str, Any]:
    if human_agent:
        return {"recipient": {"id": psid}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return {"recipient": {"id": psid}, "messaging_type": "RESPONSE"}


def parts(message: OutboundMessage, human_agent: bool) -> list[dict[str, Any]]:
    """Text first (in parts of at most 2,000 characters, in order), then each attachment by
    URL (Messenger has no captions)."""
    psid = message.identity.external_id
    bodies: list[dict[str, Any]] = []
    for text in split_text(message.text or "", MESSENGER_TEXT_MAX):
        bodies.append({**envelope(psid, human_agent), "message": {"text": text}})
    for attachment in message.media:
        kind = ATTACHMENT_TYPES.get(attachment.kind)
        if kind and attachment.url:
            payload = {"url": attachment.url, "is_reusable": True}
            bodies.append(
                {
                    **envelope(psid, human_agent),
                    "message": {"attachment": {"type": kind, "payload": payload}},
                }
            )
    return bodies


def message_id_of(answer: Any) -> str | None:
    if isinstance(answer, dict) and answer.get("message_id"):
        return str(answer["message_id"])
    return None
