"""The customer-service window: how a business may write to a customer, given the time of
the customer's last message. Pure rules, used by routing (refuse a staff reply with 409)
and by ingest (choose how to send, refuse what the provider would refuse anyway).

- WhatsApp: a free-form message only within 24 hours of the customer's last message;
  after that only an approved template.
- Messenger: `messaging_type` RESPONSE within 24 hours; with the `HUMAN_AGENT` message tag
  a human may still answer up to 7 days after; after that nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)

WhatsAppMode = Literal["free_form", "template", "refused"]
MessengerMode = Literal["response", "human_agent", "refused"]


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """True within 24 hours of the customer's last message; False when never written."""
    return last_inbound_at is not None and now - last_inbound_at < CUSTOMER_SERVICE_WINDOW


def needs_template(last_inbound_at: datetime | None, now: datetime) -> bool:
    """A staff reply on WhatsApp needs a template: the customer has not written in 24 h."""
    return not window_open(last_inbound_at, now)


def whatsapp_mode(
    last_inbound_at: datetime | None, now: datetime, template_available: bool
) -> WhatsAppMode:
    """How to send on WhatsApp. An unknown last inbound time (None) is treated as open:
    the provider is the judge then, and its refusal (131047) falls back to a template."""
    if last_inbound_at is None or window_open(last_inbound_at, now):
        return "free_form"
    return "template" if template_available else "refused"


def messenger_mode(last_inbound_at: datetime | None, now: datetime, human: bool) -> MessengerMode:
    """How to send on Messenger: RESPONSE inside 24 h (or unknown), the HUMAN_AGENT tag for
    a human author up to 7 days, otherwise refused."""
    if last_inbound_at is None or window_open(last_inbound_at, now):
        return "response"
    if human and now - last_inbound_at < HUMAN_AGENT_WINDOW:
        return "human_agent"
    return "refused"
