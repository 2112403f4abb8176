"""Consultation answers going out, and what became of them.

Chat replies travel as `OutboundMessage` (`outbound.<channel>.message`) and their outcome
as `DeliveryStatus` (`inbound.<channel>.status`). A consultation from the portal has no
conversation: its answer by email is a `ConsultationEmail` (`outbound.email.message`), by
WhatsApp an `OutboundMessage` with `consultation_id`; either way the outcome comes back to
tickets as a `ConsultationReplyStatus` (`consultation_reply.<status>`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.base import Event


class ConsultationEmail(Event):
    """An answer to a consultation, to be sent by email; `event_id` is the message id."""

    consultation_id: str
    to_email: str = Field(min_length=3, max_length=320)
    to_name: str | None = None
    subject: str
    text: str
    author: str

    def routing_key(self) -> str:
        return "outbound.email.message"


ReplyState = Literal["sent", "failed"]


class ConsultationReplyStatus(Event):
    """The provider accepted (`sent`) or refused (`failed`, with its reason) an answer."""

    consultation_id: str
    message_id: str  # the ConsultationEmail / OutboundMessage event id
    medium: Literal["email", "whatsapp"]
    status: ReplyState
    external_message_id: str | None = None  # SMTP Message-ID or WhatsApp message id
    reason: str | None = None
    error_code: str | None = None

    def routing_key(self) -> str:
        return f"consultation_reply.{self.status}"
