"""Contract events as the other services publish them, with unique ids per call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.contracts import (
    CallInfo,
    ConsultationEvent,
    ConsultationSnapshot,
    ConversationEvent,
    ConversationSnapshot,
    CustomerEvent,
    CustomerSnapshot,
    Identity,
    SalesCall,
    ServiceSnapshot,
    TicketEvent,
)


def uid() -> str:
    return uuid.uuid4().hex[:10]


def at(text: str) -> datetime:
    """`2024-03-10T12:00` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def chat_event(
    *,
    conversation_id: str | None = None,
    channel: str = "whatsapp",
    customer_id: str | None = None,
    name: str | None = "José Martínez",
    document: str | None = "30.123.456",
    status: str = "abierta",
    holder: str | None = "lara",
    opened_at: datetime | None = None,
    preview: str | None = "Hola, necesito ayuda",
    version: int = 1,
    action: str = "message_received",
) -> ConversationEvent:
    conv_id = conversation_id or f"conv-{uid()}"
    return ConversationEvent(
        action=action,  # type: ignore[arg-type]
        actor="customer",
        conversation=ConversationSnapshot(
            conversation_id=conv_id,
            channel=channel,  # type: ignore[arg-type]
            identity=Identity(channel=channel, external_id=f"ext-{conv_id}"),  # type: ignore[arg-type]
            customer_id=customer_id,
            customer_name=name,
            document_number=document,
            status=status,  # type: ignore[arg-type]
            holder=holder,
            opened_at=opened_at or at("2024-03-10T15:00"),
            last_message_preview=preview,
            version=version,
        ),
    )


def call_event(
    *,
    call_sid: str | None = None,
    customer_id: str | None = None,
    name: str | None = "Ana Peña",
    document: str | None = "27.555.111",
    motive: str | None = "soporte técnico",
    city: str | None = "Córdoba",
    call_status: str | None = "in-progress",
    opened_at: datetime | None = None,
    version: int = 1,
    caller: str | None = None,
) -> ConversationEvent:
    sid = call_sid or f"CA{uid()}"
    return ConversationEvent(
        action="call_updated",
        actor="customer",
        conversation=ConversationSnapshot(
            conversation_id=f"conv-{sid}",
            channel="ivr",
            identity=Identity(channel="ivr", external_id="+5493511234567"),
            customer_id=customer_id,
            customer_name=name,
            document_number=document,
            status="abierta",
            holder="lara",
            opened_at=opened_at or at("2024-03-10T15:00"),
            call=CallInfo(
                call_sid=sid,
                motive=motive,
                city=city,
                call_status=call_status,
                caller_number=caller,
            ),
            version=version,
        ),
    )


def service_event(
    *,
    service_id: str | None = None,
    number: str | None = None,
    status: str = "pendiente",
    customer_id: str | None = None,
    name: str | None = "Luis Núñez",
    document: str | None = "20.111.222",
    reason: str = "Sin conexión a internet",
    created_at: datetime | None = None,
    version: int = 1,
) -> TicketEvent:
    sid = service_id or f"svc-{uid()}"
    action = {"pendiente": "created", "confirmado": "confirmed", "cancelado": "cancelled"}[status]
    created = created_at or at("2024-03-10T15:00")
    return TicketEvent(
        action=action,  # type: ignore[arg-type]
        service=ServiceSnapshot(
            service_id=sid,
            number=number or f"ST-{uid()[:6]}",
            status=status,  # type: ignore[arg-type]
            customer_id=customer_id,
            customer_name=name,
            document_number=document,
            reason=reason,
            created_by="staff:ana",
            created_at=created,
            updated_at=created,
            version=version,
        ),
    )


def sales_call_event(
    *,
    call_sid: str | None = None,
    customer_id: str | None = None,
    name: str | None = "Sofía Ibáñez",
    document: str | None = "33.444.555",
    caller: str | None = "+5491155554444",
    city: str | None = "Rosario",
    motive: str | None = "ventas",
    call_status: str | None = "completed",
    received_at: datetime | None = None,
    revision: int = 1,
) -> TicketEvent:
    return TicketEvent(
        action="sales_call",
        sales_call=SalesCall(
            call_sid=call_sid or f"CA{uid()}",
            customer_id=customer_id,
            customer_name=name,
            document_number=document,
            caller_number=caller,
            city=city,
            motive=motive,
            call_status=call_status,
            received_at=received_at or at("2024-03-10T15:00"),
            revision=revision,
        ),
    )


def consultation_event(
    *,
    consultation_id: str | None = None,
    status: str = "abierta",
    customer_id: str | None = None,
    name: str = "María Gómez",
    document: str | None = "25.000.111",
    email: str | None = "maria@example.com",
    phone: str | None = "+5491100001111",
    subject: str = "Facturación de marzo",
    created_at: datetime | None = None,
    version: int = 1,
) -> ConsultationEvent:
    cid = consultation_id or f"cons-{uid()}"
    created = created_at or at("2024-03-10T15:00")
    return ConsultationEvent(
        action="created" if status == "abierta" else "answered",
        consultation=ConsultationSnapshot(
            consultation_id=cid,
            status=status,  # type: ignore[arg-type]
            name=name,
            document_number=document,
            email=email,
            phone=phone,
            subject=subject,
            text="Consulta",
            created_at=created,
            updated_at=created,
            customer_id=customer_id,
            version=version,
        ),
    )


def customer_event(
    action: str,
    customer_id: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    document: str | None = None,
    mobile_phone: str | None = None,
    anonymized: bool = False,
    merged_customer_id: str | None = None,
    merged_customer: CustomerSnapshot | None = None,
    version: int = 1,
) -> CustomerEvent:
    return CustomerEvent(
        action=action,  # type: ignore[arg-type]
        customer=CustomerSnapshot(
            customer_id=customer_id,
            first_name=first_name,
            last_name=last_name,
            document_number=document,
            mobile_phone=mobile_phone,
            anonymized=anonymized,
            version=version,
        ),
        merged_customer_id=merged_customer_id,
        merged_customer=merged_customer,
    )
