"""Messenger Platform webhook bodies → InboundMessage / DeliveryStatus (pure, no I/O).

Handles `entry[].messaging[]` and `entry[].standby[]` (handover protocol). Echoes are the
Page's own messages and are ignored; deprecated or unknown event keys (payments, game_play,
optin, thread control, policy-enforcement, ...) are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.ingest.batch import Batch
from services.ingest.fields import as_dict, as_list, from_epoch, meta_entries, text_or_none
from shared.contracts.base import Identity
from shared.contracts.inbound import (
    Attachment,
    DeliveryStatus,
    InboundMessage,
    Location,
)

# Messenger attachment type → our message type.
ATTACHMENT_TYPES = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "file": "document",
    "sticker": "sticker",
    "location": "location",
}
EVENT_KEYS = ("message", "postback", "delivery", "read", "reaction")


def message_key(page_id: str, mid: str) -> str:
    return f"fb:{page_id}:{mid}"


def postback_key(page_id: str, psid: str, timestamp: Any, payload: str | None) -> str:
    digest = hashlib.sha256((payload or "").encode()).hexdigest()[:16]
    return f"fb-pb:{page_id}:{psid}:{timestamp}:{digest}"


def receipt_key(page_id: str, psid: str, kind: str, watermark: int) -> str:
    return f"fb-rcpt:{page_id}:{psid}:{kind}:{watermark}"


def reaction_key(mid: str, psid: str, action: str, timestamp: Any) -> str:
    return f"fb-rx:{mid}:{psid}:{action}:{timestamp}"


def normalize(body: Any, received_at: datetime) -> Batch:
    entries = meta_entries(body, "page", "Messenger")
    batch = Batch()
    for entry in entries:
        if not isinstance(entry, dict):
            batch.skipped.append("entry is not an object")
            continue
        page_id = str(entry.get("id") or "")
        items = [*as_list(entry.get("messaging")), *as_list(entry.get("standby"))]
        for item in items:
            normalize_item(item, page_id, received_at, batch)
    return batch


def normalize_item(item: Any, page_id: str, received_at: datetime, batch: Batch) -> None:
    """One `messaging[]` item into `batch` (zero or one event)."""
    if not isinstance(item, dict):
        batch.skipped.append("messaging item is not an object")
        return
    key = next((k for k in EVENT_KEYS if isinstance(item.get(k), dict)), None)
    if key is None:
        batch.ignored += 1
        return
    if key == "message" and as_dict(item.get("message")).get("is_echo"):
        batch.ignored += 1  # the Page's own message, never a customer's
        return
    psid = text_or_none(str(as_dict(item.get("sender")).get("id") or ""))
    page = page_id or str(as_dict(item.get("recipient")).get("id") or "") or "-"
    if psid is None:
        batch.skipped.append(f"{key} without sender")
        return
    try:
        event = _BUILDERS[key](item, page, psid, received_at)
    except (ValidationError, ValueError, TypeError) as exc:
        batch.skipped.append(f"{key}: {type(exc).__name__}")
        return
    if event is None:
        batch.skipped.append(f"{key} without id")
    else:
        batch.add(event, key)


def _identity(psid: str) -> Identity:
    return Identity(channel="messenger", external_id=psid)


def _message(
    item: dict[str, Any], page: str, psid: str, received_at: datetime
) -> InboundMessage | None:
    message = as_dict(item.get("message"))
    mid = text_or_none(message.get("mid"))
    if mid is None:
        return None
    text = text_or_none(message.get("text"))
    attachments: list[Attachment] = []
    location: Location | None = None
    kinds: list[str] = []
    unknown = False
    for raw_attachment in as_list(message.get("attachments")):
        attachment = as_dict(raw_attachment)
        kind = str(attachment.get("type") or "unknown")
        payload = as_dict(attachment.get("payload"))  # `fallback` carries payload: null
        url = text_or_none(payload.get("url")) or text_or_none(attachment.get("url"))
        title = text_or_none(payload.get("title")) or text_or_none(attachment.get("title"))
        attachments.append(Attachment(kind=kind, url=url, caption=title))
        if kind == "location":
            coords = as_dict(payload.get("coordinates"))
            try:
                location = Location(
                    latitude=float(coords["lat"]), longitude=float(coords["long"]), name=title
                )
            except (KeyError, TypeError, ValueError):
                unknown = True
        elif kind == "fallback":
            # A shared link: show it as text.
            text = text or " ".join(x for x in (title, url) if x) or None
        elif kind not in ATTACHMENT_TYPES:
            unknown = True
        kinds.append(kind)
    message_type: str
    if "sticker" in kinds or message.get("sticker_id") is not None:
        message_type = "sticker"
    elif kinds and kinds[0] in ATTACHMENT_TYPES and not unknown:
        message_type = ATTACHMENT_TYPES[kinds[0]]
    elif text is not None and not unknown:
        message_type = "text"
    else:
        message_type = "unsupported"
    quick_reply = as_dict(message.get("quick_reply"))
    return InboundMessage(
        event_id=message_key(page, mid),
        occurred_at=from_epoch(item.get("timestamp"), millis=True) or received_at,
        channel="messenger",
        identity=_identity(psid),
        external_message_id=mid,
        message_type=message_type,  # type: ignore[arg-type]
        text=text,
        payload=text_or_none(quick_reply.get("payload")),
        attachments=attachments,
        location=location,
        reply_to=text_or_none(as_dict(message.get("reply_to")).get("mid")),
        line_id=page,
        raw=item if message_type == "unsupported" else {},
    )


def _postback(item: dict[str, Any], page: str, psid: str, received_at: datetime) -> InboundMessage:
    postback = as_dict(item.get("postback"))
    payload = text_or_none(postback.get("payload"))
    mid = text_or_none(postback.get("mid"))
    timestamp = item.get("timestamp")
    event_id = message_key(page, mid) if mid else postback_key(page, psid, timestamp, payload)
    return InboundMessage(
        event_id=event_id,
        occurred_at=from_epoch(timestamp, millis=True) or received_at,
        channel="messenger",
        identity=_identity(psid),
        external_message_id=mid or event_id,
        message_type="postback",
        text=text_or_none(postback.get("title")),
        payload=payload,
        line_id=page,
    )


def _receipt(kind: str):  # type: ignore[no-untyped-def]
    def build(
        item: dict[str, Any], page: str, psid: str, received_at: datetime
    ) -> DeliveryStatus | None:
        receipt = as_dict(item.get(kind))
        watermark = receipt.get("watermark")
        if isinstance(watermark, bool) or not isinstance(watermark, int):
            return None
        mids = [m for m in as_list(receipt.get("mids")) if isinstance(m, str)]
        # Delivery receipts often have no timestamp: the watermark is the best clock we have.
        occurred = (
            from_epoch(item.get("timestamp"), millis=True)
            or from_epoch(watermark, millis=True)
            or received_at
        )
        return DeliveryStatus(
            event_id=receipt_key(page, psid, kind, watermark),
            occurred_at=occurred,
            channel="messenger",
            identity=_identity(psid),
            external_message_id=mids[0] if len(mids) == 1 else None,
            status="delivered" if kind == "delivery" else "read",
            watermark=watermark,
        )

    return build


def _reaction(
    item: dict[str, Any], page: str, psid: str, received_at: datetime
) -> InboundMessage | None:
    reaction = as_dict(item.get("reaction"))
    mid = text_or_none(reaction.get("mid"))
    if mid is None:
        return None
    action = "unreact" if reaction.get("action") == "unreact" else "react"
    timestamp = item.get("timestamp")
    event_id = reaction_key(mid, psid, action, timestamp)
    emoji = text_or_none(reaction.get("emoji")) if action == "react" else None
    return InboundMessage(
        event_id=event_id,
        occurred_at=from_epoch(timestamp, millis=True) or received_at,
        channel="messenger",
        identity=_identity(psid),
        external_message_id=event_id,
        message_type="reaction",
        text=emoji or (text_or_none(reaction.get("reaction")) if action == "react" else None),
        payload=action,
        reply_to=mid,
        line_id=page,
    )


_BUILDERS: dict[str, Any] = {
    "message": _message,
    "postback": _postback,
    "delivery": _receipt("delivery"),
    "read": _receipt("read"),
    "reaction": _reaction,
}
