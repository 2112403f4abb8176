"""WhatsApp Cloud API webhook bodies → InboundMessage / DeliveryStatus (pure, no I/O).

Only `field == "messages"` changes carry chat traffic; every other field (calls, templates,
account updates, user preferences) is acknowledged and ignored. Message echoes are our own
outbound messages and never count as customer messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError

from services.ingest.batch import Batch
from services.ingest.fields import as_dict, as_list, e164, from_epoch, meta_entries, text_or_none
from shared.contracts.base import Identity
from shared.contracts.inbound import (
    Attachment,
    ContactInfo,
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    Location,
)

MEDIA_TYPES = ("image", "video", "document", "audio", "sticker")
DELIVERY_STATES: tuple[str, ...] = get_args(DeliveryState)


def message_key(phone_number_id: str, message_id: str) -> str:
    return f"wa:{phone_number_id}:{message_id}"


def status_key(message_id: str, status: str) -> str:
    return f"wa-st:{message_id}:{status}"


def normalize(body: Any, received_at: datetime) -> Batch:
    """Every message and status of a (possibly batched) webhook, in order."""
    entries = meta_entries(body, "whatsapp_business_account", "WhatsApp")
    batch = Batch()
    for entry in entries:
        if not isinstance(entry, dict):
            batch.skipped.append("entry is not an object")
            continue
        for change in as_list(entry.get("changes")):
            if not isinstance(change, dict):
                batch.skipped.append("change is not an object")
                continue
            if change.get("field") != "messages":
                batch.ignored += 1
                continue
            _normalize_value(
                as_dict(change.get("value")), str(entry.get("id") or ""), received_at, batch
            )
    return batch


def _normalize_value(
    value: dict[str, Any], waba_id: str, received_at: datetime, batch: Batch
) -> None:
    metadata = as_dict(value.get("metadata"))
    line_id = text_or_none(str(metadata.get("phone_number_id") or "")) or waba_id or "-"
    contacts = [c for c in as_list(value.get("contacts")) if isinstance(c, dict)]
    _provider_errors(value.get("errors"), "value", batch)
    for message in as_list(value.get("messages")):
        if isinstance(message, dict):
            _provider_errors(message.get("errors"), "message", batch)
        try:
            event = _message(message, line_id, contacts, received_at)
        except (ValidationError, ValueError, TypeError) as exc:
            batch.skipped.append(f"message: {type(exc).__name__}")
            continue
        if event is None:
            batch.skipped.append("message without id or sender")
        else:
            batch.add(event, "message")
    for status in as_list(value.get("statuses")):
        try:
            status_event = _status(status, received_at)
        except (ValidationError, ValueError, TypeError) as exc:
            batch.skipped.append(f"status: {type(exc).__name__}")
            continue
        if status_event is None:
            batch.skipped.append("status without id, recipient or known state")
        else:
            batch.add(status_event, "status")
    batch.ignored += len(as_list(value.get("message_echoes")))


def _provider_errors(errors: Any, where: str, batch: Batch) -> None:
    """Meta's errors inside a webhook (`value.errors`: the webhook itself; a message's
    `errors`: e.g. 131051 unsupported type), kept for counting and the log."""
    for error in as_list(errors):
        if isinstance(error, dict):
            details = as_dict(error.get("error_data")).get("details")
            batch.provider_errors.append(
                {
                    "code": code if (code := str(error.get("code") or "")).isdigit() else "other",
                    "title": str(error.get("title") or "")[:200],
                    "message": str(error.get("message") or details or "")[:500],
                    "where": where,
                }
            )


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender = message.get("from")
    bsuid = message.get("from_user_id")
    for contact in contacts:
        if sender and contact.get("wa_id") == sender:
            return contact
        if bsuid and contact.get("user_id") == bsuid:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _identity_id(phone: str | None, *fallbacks: Any) -> str | None:
    """E.164 when the phone is there; else the BSUID (phone withheld); else the raw sender."""
    if phone:
        return phone
    for candidate in fallbacks:
        text = text_or_none(candidate if isinstance(candidate, str) else None)
        if text and text.strip():
            return text.strip()
    return None


def _message(
    message: Any, line_id: str, contacts: list[dict[str, Any]], received_at: datetime
) -> InboundMessage | None:
    if not isinstance(message, dict):
        return None
    message_id = message.get("id")
    if not isinstance(message_id, str | int) or isinstance(message_id, bool) or message_id == "":
        return None
    message_id = str(message_id)
    contact = _contact_for(message, contacts)
    phone = e164(message.get("from"))
    external_id = _identity_id(
        phone, message.get("from_user_id"), contact.get("user_id"), message.get("from")
    )
    if external_id is None:
        return None
    profile = as_dict(contact.get("profile"))
    name = text_or_none(profile.get("name"))
    fields = _content(message)
    context = as_dict(message.get("context"))
    fields.setdefault("reply_to", text_or_none(context.get("id")))
    return InboundMessage(
        event_id=message_key(line_id, message_id),
        occurred_at=from_epoch(message.get("timestamp")) or received_at,
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id=external_id),
        contact=ContactInfo(name=name.strip() if name else None, phone=phone),
        external_message_id=message_id,
        line_id=line_id,
        **fields,
    )


def _unsupported(message: dict[str, Any]) -> dict[str, Any]:
    return {"message_type": "unsupported", "raw": message}


def _content(message: dict[str, Any]) -> dict[str, Any]:
    """The type-specific fields of a message (also used for the new content of an edit)."""
    kind = message.get("type")
    if kind == "text":
        text = text_or_none(as_dict(message.get("text")).get("body"))
        return {"message_type": "text", "text": text}
    if kind in MEDIA_TYPES:
        media = message.get(kind)
        if not isinstance(media, dict):
            return _unsupported(message)
        caption = text_or_none(media.get("caption"))
        attachment = Attachment(
            kind=kind,
            media_id=text_or_none(str(media["id"])) if media.get("id") is not None else None,
            url=text_or_none(media.get("url")),
            mime_type=text_or_none(media.get("mime_type")),
            caption=caption,
            filename=text_or_none(media.get("filename")),
        )
        return {"message_type": kind, "text": caption, "attachments": [attachment]}
    if kind == "location":
        loc = as_dict(message.get("location"))
        try:
            location = Location(
                latitude=float(loc["latitude"]),
                longitude=float(loc["longitude"]),
                name=text_or_none(loc.get("name")),
                address=text_or_none(loc.get("address")),
            )
        except (KeyError, TypeError, ValueError):
            return _unsupported(message)
        return {"message_type": "location", "location": location, "text": location.name}
    if kind == "contacts":
        return {
            "message_type": "contacts",
            "text": _contacts_text(as_list(message.get("contacts"))),
            "raw": message,
        }
    if kind == "interactive":
        return _interactive(message)
    if kind == "button":
        button = message.get("button")
        if not isinstance(button, dict):
            return _unsupported(message)
        return {
            "message_type": "button",
            "text": text_or_none(button.get("text")),
            "payload": text_or_none(button.get("payload")),
        }
    if kind == "reaction":
        reaction = as_dict(message.get("reaction"))
        emoji = text_or_none(reaction.get("emoji"))
        return {
            "message_type": "reaction",
            "text": emoji,
            # An empty or missing emoji means the customer removed the reaction.
            "payload": "react" if emoji else "unreact",
            "reply_to": text_or_none(reaction.get("message_id")),
        }
    if kind == "order":
        order = as_dict(message.get("order"))
        return {"message_type": "order", "text": text_or_none(order.get("text")), "raw": message}
    if kind == "system":
        system = as_dict(message.get("system"))
        return {
            "message_type": "system",
            "text": text_or_none(system.get("body")),
            "payload": text_or_none(system.get("type")),
            "raw": message,
        }
    if kind == "revoke":
        revoke = as_dict(message.get("revoke"))
        return {
            "message_type": "revoke",
            "reply_to": text_or_none(revoke.get("original_message_id")),
            "raw": message,
        }
    if kind == "edit":
        edit = as_dict(message.get("edit"))
        inner = as_dict(edit.get("message"))
        new_content = _content(inner) if inner else {}
        return {
            "message_type": "edit",
            "text": new_content.get("text"),
            "attachments": new_content.get("attachments", []),
            "reply_to": text_or_none(edit.get("original_message_id")),
            "raw": message,
        }
    return _unsupported(message)


def _interactive(message: dict[str, Any]) -> dict[str, Any]:
    interactive = message.get("interactive")
    if not isinstance(interactive, dict):
        # Seen in the wild: type "interactive" with no interactive object. Keep it, raw.
        return _unsupported(message)
    sub = interactive.get("type")
    reply = as_dict(interactive.get(sub)) if isinstance(sub, str) else {}
    if sub in ("button_reply", "list_reply"):
        return {
            "message_type": "interactive",
            "text": text_or_none(reply.get("title")),
            "payload": text_or_none(reply.get("id")),
            "raw": message,
        }
    if sub == "nfm_reply":
        return {
            "message_type": "interactive",
            "text": text_or_none(reply.get("body")),
            # A Flow's answers: JSON inside a string; consumers decode it if they care.
            "payload": text_or_none(reply.get("response_json")),
            "raw": message,
        }
    return _unsupported(message)


def _contacts_text(cards: list[Any]) -> str | None:
    parts = []
    for card in cards:
        if not isinstance(card, dict):
            continue
        name = text_or_none(as_dict(card.get("name")).get("formatted_name"))
        phones = [text_or_none(as_dict(p).get("phone")) for p in as_list(card.get("phones"))]
        shown = ", ".join(p for p in phones if p)
        parts.append(" ".join(x for x in (name, f"({shown})" if shown else None) if x))
    text = "; ".join(p for p in parts if p)
    return text or None


def _status(status: Any, received_at: datetime) -> DeliveryStatus | None:
    if not isinstance(status, dict):
        return None
    message_id = text_or_none(status.get("id"))
    state = status.get("status")
    if message_id is None or state not in DELIVERY_STATES:
        return None
    phone = e164(status.get("recipient_id"))
    external_id = _identity_id(phone, status.get("recipient_user_id"), status.get("recipient_id"))
    if external_id is None:
        return None
    errors = [e for e in as_list(status.get("errors")) if isinstance(e, dict)]
    return DeliveryStatus(
        event_id=status_key(message_id, state),
        occurred_at=from_epoch(status.get("timestamp")) or received_at,
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id=external_id),
        external_message_id=message_id,
        status=state,
        errors=errors,
    )
