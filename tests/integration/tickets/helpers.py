"""Builders for the events tickets consumes, with ids unique to each test."""

from __future__ import annotations

import uuid

from shared.contracts.base import Identity, utcnow
from shared.contracts.conversation import CallInfo, ConversationEvent, ConversationSnapshot


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def conversation_event(
    conversation_id: str,
    version: int,
    *,
    action: str = "opened",
    channel: str = "whatsapp",
    customer_name: str | None = "María Núñez",
    document_number: str | None = "20.123.456-7",
    call: CallInfo | None = None,
    event_id: str | None = None,
) -> ConversationEvent:
    external = call.caller_number if call and call.caller_number else unique("+54911")
    return ConversationEvent(
        event_id=event_id or unique("ev"),
        action=action,  # type: ignore[arg-type]
        actor="system",
        conversation=ConversationSnapshot(
            conversation_id=conversation_id,
            channel=channel,  # type: ignore[arg-type]
            identity=Identity(channel=channel, external_id=external),  # type: ignore[arg-type]
            customer_id=f"cust-{conversation_id}",
            customer_name=customer_name,
            document_number=document_number,
            status="abierta",
            holder="lara",
            opened_at=utcnow(),
            call=call,
            version=version,
        ),
    )
