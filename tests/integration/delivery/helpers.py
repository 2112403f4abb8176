"""Builders for replies, with recipients unique to each test."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contracts.base import Identity
from shared.contracts.conversation import OutboundMessage


def phone() -> str:
    """A WhatsApp number in E.164 no other test uses: +54 9 11 and 8 random digits."""
    return "+54911" + str(uuid.uuid4().int)[:8]


def psid() -> str:
    return str(uuid.uuid4().int)[:16]


def reply(
    text: str,
    *,
    channel: str = "whatsapp",
    to: str | None = None,
    author: str = "lara",
    last_inbound_at: datetime | None = None,
) -> OutboundMessage:
    external = to or (phone() if channel == "whatsapp" else psid())
    return OutboundMessage(
        conversation_id=f"conv-{uuid.uuid4().hex[:12]}",
        channel=channel,  # type: ignore[arg-type]
        identity=Identity(channel=channel, external_id=external),  # type: ignore[arg-type]
        author=author,
        text=text,
        customer_last_inbound_at=last_inbound_at,
    )
