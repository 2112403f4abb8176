"""Routing's side of the 24-hour customer-service window: may staff reply freely?

Pure (no I/O). The rule itself lives in `shared/window.py` because the channel gateway
enforces it again when it sends; here it becomes a refusal that the API maps to 409.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.domain import DomainError
from shared.window import messenger_mode, whatsapp_mode


class TemplateRequired(DomainError):
    """The customer has not written for too long: only a template may be sent (409)."""


def check_reply_window(
    channel: str,
    last_inbound_at: datetime | None,
    now: datetime,
    *,
    template_given: bool,
    template_configured: bool,
    human: bool = True,
) -> None:
    """Refuse a staff reply the provider would refuse: WhatsApp more than 24 h after the
    customer's last message without a template (given with the reply or configured),
    Messenger more than 7 days after (24 h for a non-human author). Other channels: no
    window here (read-only channels are refused elsewhere)."""
    if last_inbound_at is None:
        return
    if channel == "whatsapp":
        if template_given:
            return
        if whatsapp_mode(last_inbound_at, now, template_configured) == "refused":
            raise TemplateRequired(
                "the customer has not written in the last 24 hours: WhatsApp only accepts "
                "an approved template now (configure WHATSAPP_TEMPLATE_NAME or send one)"
            )
    elif channel == "messenger" and messenger_mode(last_inbound_at, now, human) == "refused":
        raise TemplateRequired(
            "the customer has not written in the last 7 days: Messenger accepts no reply now"
        )
