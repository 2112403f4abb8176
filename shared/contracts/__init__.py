"""Event models: the only coupling between services."""

from shared.contracts.base import CHANNELS, Channel, Event, Identity, new_id, utcnow
from shared.contracts.conversation import (
    CallInfo,
    ConversationEvent,
    ConversationSnapshot,
    FirstResponse,
    OutboundMessage,
    Satisfaction,
    TemplateRef,
)
from shared.contracts.customer import CustomerEvent, CustomerSnapshot
from shared.contracts.delivery import ConsultationEmail, ConsultationReplyStatus
from shared.contracts.inbound import (
    Attachment,
    CallEvent,
    ContactInfo,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    Location,
    TranscriptLine,
    parse_inbound,
)
from shared.contracts.ticket import (
    ConsultationEvent,
    ConsultationSnapshot,
    SalesCall,
    ServiceSnapshot,
    TicketEvent,
)

__all__ = [
    "CHANNELS",
    "Attachment",
    "CallEvent",
    "CallInfo",
    "Channel",
    "ConsultationEmail",
    "ConsultationEvent",
    "ConsultationReplyStatus",
    "ConsultationSnapshot",
    "ContactInfo",
    "ConversationEvent",
    "ConversationSnapshot",
    "CustomerEvent",
    "CustomerSnapshot",
    "DeliveryStatus",
    "Event",
    "FirstResponse",
    "Identity",
    "InboundEvent",
    "InboundMessage",
    "Location",
    "OutboundMessage",
    "SalesCall",
    "Satisfaction",
    "ServiceSnapshot",
    "TemplateRef",
    "TicketEvent",
    "TranscriptLine",
    "new_id",
    "parse_inbound",
    "utcnow",
]
