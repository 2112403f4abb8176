"""What tickets publishes: `ticket.<action>` (technical services, sales calls) and
`consultation.<action>` (the customer portal's form)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.contracts.base import Event

ServiceStatus = Literal["pendiente", "confirmado", "cancelado"]
TicketAction = Literal["created", "confirmed", "cancelled", "sales_call"]


class ServiceSnapshot(BaseModel):
    service_id: str
    number: str  # "ST-000123"
    status: ServiceStatus
    customer_id: str | None = None
    customer_name: str | None = None
    document_number: str | None = None
    conversation_id: str | None = None
    call_sid: str | None = None
    channel: str | None = None
    reason: str
    description: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    # Additive, optional: who closed the service and why, and its origin when not a conversation.
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    consultation_id: str | None = None


class SalesCall(BaseModel):
    call_sid: str
    conversation_id: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    document_number: str | None = None
    caller_number: str | None = None
    city: str | None = None
    motive: str | None = None
    call_status: str | None = None
    received_at: datetime
    updated_at: datetime | None = None
    revision: int = 1  # grows each time the call's data changes (a new event each time)


class TicketEvent(Event):
    action: TicketAction
    service: ServiceSnapshot | None = None
    sales_call: SalesCall | None = None
    actor: str | None = None

    def routing_key(self) -> str:
        return f"ticket.{self.action}"


ConsultationStatus = Literal["abierta", "respondida", "cerrada", "genero_servicio_tecnico"]
ConsultationAction = Literal["created", "answered", "closed", "converted"]


class ConsultationSnapshot(BaseModel):
    consultation_id: str
    status: ConsultationStatus
    name: str
    document_number: str | None = None
    email: str | None = None
    phone: str | None = None
    subject: str
    text: str
    created_at: datetime
    updated_at: datetime
    answered_by: str | None = None
    answer_channel: str | None = None
    service_number: str | None = None
    customer_id: str | None = None
    version: int
    # Additive, optional: the answer as sent, and who closed it.
    answer_text: str | None = None
    answered_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    service_id: str | None = None
    # Additive, optional: whether the answer reached the customer's email or WhatsApp.
    # "pending" until the connector reports; "not_sent" when answered by phone.
    answer_message_id: str | None = None
    answer_delivery: Literal["pending", "sent", "failed", "not_sent"] | None = None
    answer_delivery_error: str | None = None
    answer_external_id: str | None = None
    # Additive, optional: a consultation turned into a service tells the customer its number
    # through the contact they left (email, else WhatsApp); "pending" until the connector
    # reports, like an answer.
    number_message_id: str | None = None
    number_channel: Literal["email", "whatsapp"] | None = None
    number_delivery: Literal["pending", "sent", "failed"] | None = None


class ConsultationEvent(Event):
    action: ConsultationAction
    consultation: ConsultationSnapshot
    actor: str | None = None

    def routing_key(self) -> str:
        return f"consultation.{self.action}"
