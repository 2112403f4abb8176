"""Tickets: the rules of technical services, consultations and sales calls (pure, no I/O).

A technical service (servicio técnico) goes `pendiente` → `confirmado` (the central office)
or `pendiente` → `cancelado`; both ends are final. A consultation from the "Mi Cuenta"
portal goes `abierta` → `respondida` (answered, may be answered again) and ends `cerrada`
or `genero_servicio_tecnico` (turned into a service).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.text import fold_words

SERVICE_NUMBER_PREFIX = "ST-"

PENDIENTE = "pendiente"
CONFIRMADO = "confirmado"
CANCELADO = "cancelado"
SERVICE_STATUSES = (PENDIENTE, CONFIRMADO, CANCELADO)

ABIERTA = "abierta"
RESPONDIDA = "respondida"
CERRADA = "cerrada"
GENERO_SERVICIO_TECNICO = "genero_servicio_tecnico"
CONSULTATION_STATUSES = (ABIERTA, RESPONDIDA, CERRADA, GENERO_SERVICIO_TECNICO)

ALL_STATUSES = "todos"
# What replaces a customer's own words once they are anonymized (as routing and customers do).
ANONYMIZED = "[anonimizado]"


# --- refusals -------------------------------------------------------------------------------


class TicketsError(Exception):
    """Base of every refusal; the message is meant for the person who asked."""


class NotFound(TicketsError):
    pass


class Conflict(TicketsError):
    """The request contradicts the current state (HTTP 409)."""


class Invalid(TicketsError):
    """The request is well-formed but cannot be accepted as it is (HTTP 422)."""


class ServiceAlreadyConfirmed(Conflict):
    pass


class ServiceAlreadyCancelled(Conflict):
    pass


class ConsultationAlreadyClosed(Conflict):
    pass


class ConcurrentUpdate(Conflict):
    pass


class ServiceAlreadyOpen(Conflict):
    """The conversation (or call) already has an open service; a second one is created
    only when the request says so (`allow_another_open`)."""


class IdempotencyKeyReused(Invalid):
    """The same Idempotency-Key came with a different request."""


class ContactMissing(Invalid):
    pass


# --- technical services ---------------------------------------------------------------------


def service_number(seq: int) -> str:
    """The number the customer follows: `ST-000123` (more digits once past a million)."""
    if seq < 1:
        raise ValueError("service numbers start at 1")
    return f"{SERVICE_NUMBER_PREFIX}{seq:06d}"


def confirm_service(status: str) -> str:
    """The central office confirms a pending service; any other state is refused."""
    if status == CONFIRMADO:
        raise ServiceAlreadyConfirmed("the service is already confirmed")
    if status == CANCELADO:
        raise ServiceAlreadyCancelled("a cancelled service cannot be confirmed")
    return CONFIRMADO


def cancel_service(status: str, reason: str) -> str:
    """Cancel a pending service, with a reason. A confirmed service is never cancelled."""
    if status == CONFIRMADO:
        raise ServiceAlreadyConfirmed(
            "a confirmed service cannot be cancelled: the central office already confirmed it"
        )
    if status == CANCELADO:
        raise ServiceAlreadyCancelled("the service is already cancelled")
    if not reason.strip():
        raise Invalid("cancelling a service requires a reason")
    return CANCELADO


def service_origin_key(conversation_id: str | None, call_sid: str | None) -> str | None:
    """What "one open service per conversation" is counted by: the conversation, or the
    call when the service names only a call tickets has not seen as a conversation."""
    if conversation_id:
        return f"conversation:{conversation_id}"
    if call_sid:
        return f"call:{call_sid}"
    return None


def is_open_service(status: str) -> bool:
    return status in (PENDIENTE, CONFIRMADO)


# --- consultations --------------------------------------------------------------------------

_FINAL_CONSULTATION = {
    CERRADA: "the consultation is closed",
    GENERO_SERVICIO_TECNICO: "the consultation already generated a technical service",
}


def _still_open(status: str) -> None:
    if status in _FINAL_CONSULTATION:
        raise ConsultationAlreadyClosed(_FINAL_CONSULTATION[status])


def answer_consultation(status: str, channel: str, email: str | None, phone: str | None) -> str:
    """Staff answer through a contact the customer gave: email needs an email address,
    phone and WhatsApp need a phone number. An open or answered consultation may be
    answered (again); a closed one may not."""
    _still_open(status)
    if channel == "email" and not email:
        raise ContactMissing("the customer left no email address to answer by email")
    if channel in ("phone", "whatsapp") and not phone:
        raise ContactMissing(f"the customer left no phone number to answer by {channel}")
    return RESPONDIDA


# How an answer reaches the customer: by email or WhatsApp the connector sends it (and
# reports back); by phone staff already spoke to them, so nothing is sent.
SENT_ANSWER_CHANNELS = frozenset({"email", "whatsapp"})


def answer_delivery_for(channel: str) -> str:
    """The delivery state an answer starts in: `pending` until the connector reports."""
    return "pending" if channel in SENT_ANSWER_CHANNELS else "not_sent"


def reply_status_applies(
    current_message_id: str | None, current_delivery: str | None, message_id: str, status: str
) -> bool:
    """A connector's report changes the consultation only if it concerns the answer it
    holds now (a later answer supersedes an earlier one) and says something new."""
    return current_message_id == message_id and current_delivery != status


def number_channel(email: str | None, phone: str | None) -> str | None:
    """How a consultation's customer learns the number of the service it became: by email
    when they left one, else by WhatsApp at their phone, else (no contact) not at all."""
    if email:
        return "email"
    if phone:
        return "whatsapp"
    return None


def service_number_text(number: str) -> str:
    """What the customer is told, in every channel (routing says the same in chats)."""
    return f"Tu número de servicio técnico es {number}"


def whatsapp_identity(phone: str) -> str:
    """The phone the customer typed ("+54 9 11 1234-5678") as E.164, WhatsApp's key."""
    return "+" + re.sub(r"\D", "", phone)


def close_consultation(status: str) -> str:
    _still_open(status)
    return CERRADA


def convert_consultation(status: str) -> str:
    """Turn an open or answered consultation into a technical service."""
    _still_open(status)
    return GENERO_SERVICIO_TECNICO


# --- sales calls ----------------------------------------------------------------------------

_SALES_MOTIVES = ("venta", "adquirir", "comprar", "compra", "contratar")


def is_sales_call(channel: str, motive: str | None) -> bool:
    """An IVR call whose menu choice was the purchase option ("adquirir el servicio")."""
    if channel != "ivr" or not motive:
        return False
    key = search_key(motive)
    return any(word in key for word in _SALES_MOTIVES)


SALES_CALL_FIELDS = (
    "conversation_id",
    "customer_id",
    "customer_name",
    "document_number",
    "caller_number",
    "city",
    "motive",
    "call_status",
)


def sales_call_changes(
    current: Mapping[str, object], incoming: Mapping[str, object]
) -> dict[str, object]:
    """What the incoming call data changes. A field the new snapshot leaves empty never
    erases what we knew (a later step may simply not repeat the city)."""
    return {
        name: incoming[name]
        for name in SALES_CALL_FIELDS
        if incoming.get(name) is not None and incoming.get(name) != current.get(name)
    }


# --- search and filters ---------------------------------------------------------------------


# Lowercase, accents stripped, spaces collapsed: `"José  PÉREZ"` → `"jose perez"` (the
# project's one folding, shared/text.py).
search_key = fold_words


def document_key(document_number: str) -> str:
    """A document number as typed in any format: `20.123.456-7` → `201234567`."""
    return re.sub(r"[^0-9a-z]", "", search_key(document_number))


def search_keys(name: str | None, document_number: str | None) -> list[str]:
    """The words a person can be found by: each word of the name and the document number."""
    keys: list[str] = []
    if name:
        keys += [re.sub(r"[^0-9a-z]", "", w) for w in search_key(name).split()]
    if document_number:
        keys.append(document_key(document_number))
    return sorted({k for k in keys if k})


def query_terms(q: str | None) -> list[str]:
    """The prefixes a free-text query must all match (name words or document number)."""
    if not q:
        return []
    terms = [re.sub(r"[^0-9a-z]", "", w) for w in search_key(q).split()]
    return [t for t in terms if t]


@dataclass(frozen=True)
class Period:
    start: datetime | None  # inclusive, UTC
    end: datetime | None  # exclusive, UTC


FIRST_YEAR, LAST_YEAR = 1900, 9998


def period(desde: date | None, hasta: date | None, tz: str) -> Period:
    """`desde`/`hasta` are calendar days in the office's time zone, both inclusive.

    Years outside 1900-9998 are refused (the far ends overflow once shifted to UTC or to
    the next day), as the exports tables do.
    """
    for name, day in (("desde", desde), ("hasta", hasta)):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise Invalid(f"'{name}' must be between {FIRST_YEAR} and {LAST_YEAR}, got {day}")
    if desde and hasta and desde > hasta:
        raise Invalid("'desde' must not be after 'hasta'")
    zone = ZoneInfo(tz)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return Period(
        start=midnight(desde) if desde else None,
        end=midnight(hasta + timedelta(days=1)) if hasta else None,
    )


STATUS_LABELS = {
    PENDIENTE: "PENDIENTE",
    CONFIRMADO: "CONFIRMADO",
    CANCELADO: "CANCELADO",
    ABIERTA: "ABIERTA",
    RESPONDIDA: "RESPONDIDA",
    CERRADA: "CERRADA",
    GENERO_SERVICIO_TECNICO: "GENERÓ SERVICIO TÉCNICO",
}
OPEN_SERVICE_STATUSES = (PENDIENTE, CONFIRMADO)


def _status_key(text: str) -> str:
    """Case, accents, `_`/`-`, and the gender/plural ending ignored: `CERRADA`, `cerrado`,
    `Cerradas` and `GENERÓ SERVICIO TÉCNICO` compare equal to the stored slugs."""
    words = search_key(re.sub(r"[_\-]+", " ", text)).split()
    return " ".join(re.sub(r"(?:os|as|o|a)$", "", word) or word for word in words)


def status_filter(estado: str | None, allowed: tuple[str, ...], default: str) -> list[str] | None:
    """The statuses to list: the default when unset, None for `todos`.

    A status is accepted in any case, with or without accents, as slug or as shown
    (`genero_servicio_tecnico`, `GENERÓ SERVICIO TÉCNICO`); for services, which have no
    status of those names, `abiertos` means pending or confirmed and `cerrados` cancelled.
    Anything else is refused, naming the choices.
    """
    if estado is None or not estado.strip():
        return [default]
    key = _status_key(estado)
    if key == _status_key(ALL_STATUSES):
        return None
    for status in allowed:
        if key in (_status_key(status), _status_key(STATUS_LABELS.get(status, status))):
            return [status]
    if allowed == SERVICE_STATUSES and key == _status_key("abiertos"):
        return list(OPEN_SERVICE_STATUSES)
    if allowed == SERVICE_STATUSES and key == _status_key("cerrados"):
        return [CANCELADO]
    raise Invalid(f"unknown estado {estado!r}; expected one of {', '.join(allowed)} or todos")


# Conversation actions that change nothing tickets reads (customer, channel, call): the
# chat's traffic. Skipping them spares a database write per message.
CHATTER_ACTIONS = frozenset(
    {"message_received", "message_sent", "seen", "note_added", "hold_reminder", "delivery_failed"}
)


def worth_projecting(action: str, has_call: bool) -> bool:
    return has_call or action not in CHATTER_ACTIONS


# The event that announces a document in each status, for republishing one whose event a
# crash left unstaged (the latest state is what every consumer needs).
SERVICE_EVENT_FOR_STATUS = {
    "pendiente": "created",
    "confirmado": "confirmed",
    "cancelado": "cancelled",
}
CONSULTATION_EVENT_FOR_STATUS = {
    "abierta": "created",
    "respondida": "answered",
    "cerrada": "closed",
    "genero_servicio_tecnico": "converted",
}
