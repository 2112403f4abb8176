"""WhatsApp Cloud API: `POST /{phone_number_id}/messages`, one request per part.

A reply becomes one or more *parts*: its text (or a template when the 24-hour window is
closed), and each media attachment by link (the first image/video/document carries the
text as caption). Answer: `{"messaging_product": "whatsapp", "contacts": [{"input",
"wa_id"}], "messages": [{"id": "wamid..."}]}`.
"""

from __future__ import annotations

from typing import Any

from services.ingest.outbound.text import WHATSAPP_CAPTION_MAX
from shared.contracts.conversation import OutboundMessage, TemplateRef

CAPTIONED = {"image", "video", "document"}
MEDIA = {"image", "video", "document", "audio", "sticker"}


def recipient(message: OutboundMessage) -> str:
    """WhatsApp wants the number in international form without '+'."""
    return message.identity.external_id.lstrip("+")


def text_part(to: str, text: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }


def template_part(to: str, template: TemplateRef) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": template.name, "language": {"code": template.language}},
    }
    if template.parameters:
        body["template"]["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in template.parameters],
            }
        ]
    return body


def media_part(
    to: str, kind: str, url: str, caption: str | None, filename: str | None
) -> dict[str, Any]:
    media: dict[str, Any] = {"link": url}
    if caption and kind in CAPTIONED:
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: media,
    }


# Meta refuses a template parameter holding a new line, a tab or more than four consecutive
# spaces, and the template's body has a length limit: a reply goes in as one line that fits.
TEMPLATE_PARAMETER_MAX_CHARS = 1000


def template_parameter(text: str) -> str:
    """`text` as a valid template parameter: lines joined with " / " (a line break that
    still reads as one), tabs and runs of spaces as one space, cut with "…" to the limit."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    flat = " / ".join(line for line in lines if line)
    if len(flat) > TEMPLATE_PARAMETER_MAX_CHARS:
        flat = flat[: TEMPLATE_PARAMETER_MAX_CHARS - 1].rstrip() + "…"
    return flat


def parts(message: OutboundMessage, template: TemplateRef | None) -> list[dict[str, Any]]:
    """The request bodies for this reply, in order. With `template`, the window is closed:
    only the template goes (media cannot be sent outside the window either)."""
    to = recipient(message)
    if template is not None:
        return [template_part(to, template)]
    media = [a for a in message.media if a.url and a.kind in MEDIA]
    bodies: list[dict[str, Any]] = []
    caption_used = False
    first = media[0] if media else None
    fits_a_caption = len(message.text or "") <= WHATSAPP_CAPTION_MAX
    if message.text and not (first and first.kind in CAPTIONED and fits_a_caption):
        bodies.append(text_part(to, message.text))  # a caption holds at most 1,024
        caption_used = True
    for attachment in media:
        caption = None if caption_used else (attachment.caption or message.text)
        if caption and len(caption) > WHATSAPP_CAPTION_MAX:
            caption = caption[: WHATSAPP_CAPTION_MAX - 1].rstrip() + "…"
        if attachment.kind in CAPTIONED:
            caption_used = True
        assert attachment.url is not None
        bodies.append(media_part(to, attachment.kind, attachment.url, caption, attachment.filename))
    return bodies or [text_part(to, message.text)]


def message_id_of(answer: Any) -> str | None:
    try:
        return str(answer["messages"][0]["id"])
    except (KeyError, IndexError, TypeError):
        return None


def path(phone_number_id: str) -> str:
    return f"{phone_number_id}/messages"
