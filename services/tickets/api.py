"""HTTP API of the tickets service: technical services (staff) and consultations (the
"Mi Cuenta" portal posts them with its own token; staff answer them).

Domain refusals become the one error shape (`shared.errors`) in one place, `REFUSALS`.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from services.tickets import domain
from services.tickets.handlers import ListQuery, Page, Tickets
from services.tickets.metrics import TICKET_REFUSALS_TOTAL
from shared import errors
from shared.auth import User, may, settings_dependency
from shared.contracts.ticket import ConsultationSnapshot, ServiceSnapshot

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
DocumentNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=30, pattern=r"^[0-9A-Za-z.\- ]+$"
    ),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=6, max_length=25, pattern=r"^\+?[0-9][0-9 ()\-]{5,23}$"
    ),
]

# Who may do what: `shared.auth.POLICY`.
ServiceReader = Annotated[User, may("services.read")]
ServiceCreator = Annotated[User, may("services.create")]
CentralOffice = Annotated[User, may("services.confirm")]
ServiceCanceller = Annotated[User, may("services.cancel")]
ConsultationReader = Annotated[User, may("consultations.read")]
ConsultationHandler = Annotated[User, may("consultations.handle")]


class CreateServiceRequest(BaseModel):
    # The document says what `_origin` enforces: one of the two origins is given.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["conversation_id"],
                    "properties": {"conversation_id": {"type": "string"}},
                },
                {"required": ["call_sid"], "properties": {"call_sid": {"type": "string"}}},
            ]
        }
    )
    conversation_id: Id | None = None
    call_sid: Id | None = None
    reason: Text
    description: LongText | None = None
    customer_id: Id | None = None
    customer_name: Text | None = None
    document_number: DocumentNumber | None = None
    # A conversation has one open service; a second one only when the request says so.
    allow_another_open: bool = False

    @model_validator(mode="after")
    def _origin(self) -> CreateServiceRequest:
        if not (self.conversation_id or self.call_sid):
            raise ValueError("give the conversation_id or the call_sid the service comes from")
        return self


class CancelRequest(BaseModel):
    reason: Text


class ConsultationRequest(BaseModel):
    name: Text
    document_number: DocumentNumber
    email: Email | None = None
    phone: Phone | None = None
    subject: Text
    text: LongText

    @model_validator(mode="after")
    def _contact(self) -> ConsultationRequest:
        if not (self.email or self.phone):
            raise ValueError("give an email address or a phone number to be answered at")
        return self


class AnswerRequest(BaseModel):
    text: LongText
    channel: Literal["email", "phone", "whatsapp"]


class ConvertRequest(BaseModel):
    reason: Text


class ServicePage(BaseModel):
    items: list[ServiceSnapshot]
    total: int
    page: int
    page_size: int


class ConsultationPage(BaseModel):
    items: list[ConsultationSnapshot]
    total: int
    page: int
    page_size: int


class ConversionResult(BaseModel):
    consultation: ConsultationSnapshot
    service: ServiceSnapshot


REFUSALS: dict[type[domain.TicketsError], errors.Refusal] = {
    domain.NotFound: errors.Refusal(errors.NotFound, "not_found", "No existe lo pedido."),
    domain.ServiceAlreadyConfirmed: errors.Refusal(
        errors.Conflict, "service_already_confirmed", "El servicio técnico ya fue confirmado."
    ),
    domain.ServiceAlreadyCancelled: errors.Refusal(
        errors.Conflict, "service_already_cancelled", "El servicio técnico ya fue cancelado."
    ),
    domain.ConsultationAlreadyClosed: errors.Refusal(
        errors.Conflict, "consultation_already_closed", "La consulta ya está cerrada."
    ),
    domain.ServiceAlreadyOpen: errors.Refusal(
        errors.Conflict,
        "service_already_open",
        "La conversación ya tiene un servicio técnico abierto.",
    ),
    domain.ConcurrentUpdate: errors.Refusal(
        errors.Conflict, "concurrent_update", "Alguien lo cambió al mismo tiempo; reintente."
    ),
    domain.Conflict: errors.Refusal(
        errors.Conflict, "conflict", "La acción contradice el estado actual."
    ),
    domain.ContactMissing: errors.Refusal(
        errors.Invalid, "contact_missing", "Falta un email o un teléfono para responder."
    ),
    domain.Invalid: errors.Refusal(errors.Invalid, "invalid", "Hay datos inválidos."),
}


@contextmanager
def refusals() -> Iterator[None]:
    """The one place where domain refusals become the one error shape (`REFUSALS`)."""
    try:
        yield
    except domain.TicketsError as exc:
        if not isinstance(exc, domain.NotFound):
            TICKET_REFUSALS_TOTAL.labels(type(exc).__name__).inc()
        raise errors.refuse(exc, REFUSALS) from exc


_portal_bearer = HTTPBearer(auto_error=False)


def portal_client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_portal_bearer)],
) -> None:
    """The portal authenticates with its own static token (constant-time comparison)."""
    expected = settings_dependency(request).portal_token.encode()
    given = credentials.credentials.encode() if credentials else b""
    if not (credentials and hmac.compare_digest(given, expected)):
        raise errors.Unauthorized(
            "Falta el token del portal o no es válido (PORTAL_TOKEN).",
            code="invalid_portal_token",
            headers={"WWW-Authenticate": "Bearer"},
        )


PortalClient = Annotated[None, Depends(portal_client)]


# A day as the tables write it (YYYY-MM-DD), never a number: pydantic's `date` would read
# `hasta=0` as a Unix time (1970-01-01) and answer 200.
DAY = r"^\d{4}-\d{2}-\d{2}$"


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise errors.Invalid(
            f"{name} no es una fecha válida (AAAA-MM-DD).",
            details=[{"field": f"query.{name}", "message": str(exc), "type": "date"}],
        ) from exc


def _estado(statuses: tuple[str, ...]) -> Any:
    """The `estado` filter of one list: its own statuses, or `todos`."""
    return Query(
        max_length=40,
        description="status or 'todos'",
        json_schema_extra={"enum": [*statuses, domain.ALL_STATUSES]},
    )


def list_query(
    q: Annotated[str | None, Query(max_length=200, description="customer name or document")] = None,
    desde: Annotated[
        str | None, Query(pattern=DAY, description="first day, YYYY-MM-DD, inclusive (office tz)")
    ] = None,
    hasta: Annotated[
        str | None, Query(pattern=DAY, description="last day, YYYY-MM-DD, inclusive (office tz)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    conversation_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="only the services generated from this conversation (services only)",
        ),
    ] = None,
) -> ListQuery:
    return ListQuery(
        q=q,
        desde=_day(desde, "desde"),
        hasta=_day(hasta, "hasta"),
        estado=None,  # each list's own `estado` (service_query, consultation_query)
        page=page,
        page_size=page_size,
        conversation_id=conversation_id,
    )


def service_query(
    filters: Annotated[ListQuery, Depends(list_query)],
    estado: Annotated[str | None, _estado(domain.SERVICE_STATUSES)] = None,
) -> ListQuery:
    return dataclasses.replace(filters, estado=estado)


def consultation_query(
    filters: Annotated[ListQuery, Depends(list_query)],
    estado: Annotated[str | None, _estado(domain.CONSULTATION_STATUSES)] = None,
) -> ListQuery:
    return dataclasses.replace(filters, estado=estado)


ServiceFilters = Annotated[ListQuery, Depends(service_query)]
ConsultationFilters = Annotated[ListQuery, Depends(consultation_query)]


def _page_body(page: Page, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "items": [model.model_validate(doc) for doc in page.items],
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
    }


ONE = errors.responses(404)
ACTION = errors.responses(404, 409)


def build_router(tickets: Tickets) -> APIRouter:
    router = APIRouter(tags=["tickets"], responses=errors.responses(401, 403, 422))

    # --- technical services ------------------------------------------------------------------

    @router.post(
        "/api/services",
        status_code=status.HTTP_201_CREATED,
        summary="Create a technical service from a conversation or an IVR call",
        responses={
            **ACTION,  # 409: the conversation already has an open service
            200: {
                "model": ServiceSnapshot,
                "description": "A retry with the same Idempotency-Key: the service it created",
            },
        },
    )
    async def create_service(
        body: CreateServiceRequest,
        user: ServiceCreator,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(
                min_length=1,
                max_length=200,
                pattern=r"^[\x21-\x7e]+$",
                description="A retry with the same key returns the first service (200)",
            ),
        ] = None,
    ) -> ServiceSnapshot:
        with refusals():
            service, created = await tickets.create_service_once(
                user.actor, idempotency_key, **body.model_dump()
            )
        if not created:
            response.status_code = status.HTTP_200_OK
        return service

    @router.get("/api/services", summary="List technical services (default: pendiente)")
    async def list_services(filters: ServiceFilters, user: ServiceReader) -> ServicePage:
        with refusals():
            page = await tickets.list_services(filters)
        return ServicePage.model_validate(_page_body(page, ServiceSnapshot))

    @router.get(
        "/api/services/by-number/{number}",
        summary="A service by its number ST-000123",
        responses=ONE,
    )
    async def get_service_by_number(number: str, user: ServiceReader) -> ServiceSnapshot:
        with refusals():
            return await tickets.get_service_by_number(number)

    @router.get("/api/services/{service_id}", summary="A technical service", responses=ONE)
    async def get_service(service_id: str, user: ServiceReader) -> ServiceSnapshot:
        with refusals():
            return await tickets.get_service(service_id)

    @router.post(
        "/api/services/{service_id}/confirm",
        summary="The central office confirms",
        responses=ACTION,
    )
    async def confirm_service(service_id: str, user: CentralOffice) -> ServiceSnapshot:
        with refusals():
            return await tickets.confirm_service(service_id, user.actor)

    @router.post(
        "/api/services/{service_id}/cancel", summary="Cancel a pending service", responses=ACTION
    )
    async def cancel_service(
        service_id: str, body: CancelRequest, user: ServiceCanceller
    ) -> ServiceSnapshot:
        with refusals():
            return await tickets.cancel_service(service_id, user.actor, body.reason)

    # --- consultations -----------------------------------------------------------------------

    @router.post(
        "/api/consultations",
        status_code=status.HTTP_201_CREATED,
        summary="The 'Mi Cuenta' portal posts a customer's consultation",
    )
    async def create_consultation(
        body: ConsultationRequest, _portal: PortalClient
    ) -> ConsultationSnapshot:
        with refusals():
            return await tickets.create_consultation(**body.model_dump())

    @router.get("/api/consultations", summary="List consultations (default: abierta)")
    async def list_consultations(
        filters: ConsultationFilters, user: ConsultationReader
    ) -> ConsultationPage:
        with refusals():
            page = await tickets.list_consultations(filters)
        return ConsultationPage.model_validate(_page_body(page, ConsultationSnapshot))

    @router.get("/api/consultations/{consultation_id}", summary="A consultation", responses=ONE)
    async def get_consultation(
        consultation_id: str, user: ConsultationReader
    ) -> ConsultationSnapshot:
        with refusals():
            return await tickets.get_consultation(consultation_id)

    @router.post(
        "/api/consultations/{consultation_id}/answer",
        summary="Record the answer sent through the customer's email or phone",
        responses=ACTION,
    )
    async def answer_consultation(
        consultation_id: str, body: AnswerRequest, user: ConsultationHandler
    ) -> ConsultationSnapshot:
        with refusals():
            return await tickets.answer_consultation(
                consultation_id, user.actor, body.text, body.channel
            )

    @router.post(
        "/api/consultations/{consultation_id}/close",
        summary="Close a consultation",
        responses=ACTION,
    )
    async def close_consultation(
        consultation_id: str, user: ConsultationHandler
    ) -> ConsultationSnapshot:
        with refusals():
            return await tickets.close_consultation(consultation_id, user.actor)

    @router.post(
        "/api/consultations/{consultation_id}/service",
        status_code=status.HTTP_201_CREATED,
        summary="Turn a consultation into a technical service",
        responses=ACTION,
    )
    async def convert_consultation(
        consultation_id: str, body: ConvertRequest, user: ConsultationHandler
    ) -> ConversionResult:
        with refusals():
            consultation, service = await tickets.convert_consultation(
                consultation_id, user.actor, body.reason
            )
        return ConversionResult(consultation=consultation, service=service)

    return router
