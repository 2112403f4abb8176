"""The five tables of the exports read model: their columns, their rows, their filters.

Pure: no I/O imports. A row is projected from one contract event into a `Row` (what the
store keeps), and rendered back into cells (what the screen, Copy and Print show) by
`row_cells`. Filters become one `RowQuery` of plain values here (statuses, date bounds,
search terms), which the store turns into its query, so that the JSON list, the Copy and
the Print of a table can never disagree on which rows they show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from shared.contracts import (
    ConsultationEvent,
    ConversationEvent,
    CustomerSnapshot,
    TicketEvent,
)
from shared.secrets import mask_secrets
from shared.text import fold_words
from shared.words import (
    NO_CALL_STATE,
    NO_MOTIVE,
    call_state_word,
    channel_word,
    date_text,
    date_time_text,
    person_name,
    status_word,
)

# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: float = 1.0  # relative width in the printed page


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[Column, ...]
    open_statuses: frozenset[str]
    name_column: str
    # Every status a row of this table can have, in the order people list them.
    statuses: tuple[str, ...] = ()
    # What the ESTADO filter calls the default (the open rows), as staff read it.
    open_label: str = "Abiertas"
    document_column: str = "documento"
    # Columns holding personal data besides name and document: blanked on anonymization.
    personal_columns: tuple[str, ...] = ()
    # Columns holding text a customer typed: secrets are masked in them on the way in and out.
    # (Not every column: a phone number looks like a card number to the secret finder.)
    typed_columns: tuple[str, ...] = ()

    @cached_property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    @cached_property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]


# Twilio call statuses that mean the call is still going on.
OPEN_CALL_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress", NO_CALL_STATE})

ABIERTA = "abierta"
CERRADA = "cerrada"
GENERO_SERVICIO = "genero_servicio_tecnico"
CONVERSATION_STATUSES = (ABIERTA, CERRADA, GENERO_SERVICIO)

# In the order of seed 004's tabs: the console opens on the first (LLAMADAS VENTAS).
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="llamadas_ventas",
            title="LLAMADAS VENTAS",
            columns=(
                Column("id", "ID", 1.8),
                Column("fecha", "Fecha", 1.2),
                Column("telefono", "Teléfono", 1.2),
                Column("cliente", "Cliente", 1.6),
                Column("documento", "Documento", 1.0),
                Column("ciudad", "Ciudad", 1.1),
                Column("motivo", "Motivo", 1.3),
                Column("estado", "Estado", 1.0),
                Column("estado_llamada", "Llamada", 1.0),
            ),
            # Open while Twilio says the call goes on; Twilio's status is its own column.
            open_statuses=frozenset({ABIERTA}),
            name_column="cliente",
            statuses=(ABIERTA, CERRADA),
            personal_columns=("telefono",),
        ),
        Table(
            name="llamadas",
            title="LLAMADAS",
            columns=(
                Column("id", "ID", 1.8),
                Column("fecha", "Fecha", 1.2),
                Column("motivo", "Motivo", 1.6),
                Column("ciudad", "Ciudad", 1.2),
                Column("estado", "Estado", 1.0),
                Column("estado_llamada", "Llamada", 1.0),
                Column("cliente", "Cliente", 1.6),
                Column("documento", "Documento", 1.0),
            ),
            # A call is a conversation: open until attended, closed when attended, and
            # "generated a service" once a technical service came out of it.
            open_statuses=frozenset({ABIERTA}),
            name_column="cliente",
            statuses=CONVERSATION_STATUSES,
        ),
        Table(
            name="chats",
            title="CHATS",
            columns=(
                Column("id", "ID", 1.6),
                Column("fecha", "Fecha", 1.2),
                Column("origen", "Origen", 0.9),
                Column("cliente", "Cliente", 1.6),
                Column("documento", "Documento", 1.0),
                Column("estado", "Estado", 1.0),
                Column("responsable", "Responsable", 1.1),
                Column("ultimo_mensaje", "Último mensaje", 2.6),
            ),
            open_statuses=frozenset({ABIERTA}),
            name_column="cliente",
            statuses=CONVERSATION_STATUSES,
            personal_columns=("ultimo_mensaje",),
            typed_columns=("ultimo_mensaje",),
        ),
        Table(
            name="consultas",
            title="CONSULTAS",
            columns=(
                Column("fecha", "Fecha", 1.2),
                Column("nombre", "Nombre", 1.6),
                Column("documento", "Documento", 1.0),
                Column("contacto", "Contacto", 1.8),
                Column("asunto", "Asunto", 2.4),
                Column("estado", "Estado", 1.0),
            ),
            open_statuses=frozenset({ABIERTA}),
            name_column="nombre",
            statuses=(ABIERTA, "respondida", CERRADA, GENERO_SERVICIO),
            personal_columns=("contacto",),
            typed_columns=("asunto",),
        ),
        Table(
            name="servicios",
            title="SERVICIOS",
            columns=(
                Column("numero", "Número", 1.0),
                Column("fecha", "Fecha", 1.2),
                Column("cliente", "Cliente", 1.6),
                Column("documento", "Documento", 1.0),
                Column("motivo", "Motivo", 2.4),
                Column("estado", "Estado", 1.0),
            ),
            open_statuses=frozenset({"pendiente", "confirmado"}),
            name_column="cliente",
            statuses=("pendiente", "confirmado", "cancelado"),
            open_label="Pendientes y confirmados",
        ),
    )
}

ALL_STATUSES = "todos"
PERSONAL_COLUMNS = sorted({c for t in TABLES.values() for c in t.personal_columns})


class UnknownTable(LookupError):
    pass


class BadFilter(ValueError):
    pass


def table_named(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTable(f"unknown table {name!r}; expected one of {', '.join(TABLES)}") from None


# --------------------------------------------------------------------------- search keys


def normalize(text: str | None) -> str:
    """Lowercase, accents stripped, whitespace collapsed: `Peña  MARTÍNEZ` -> `pena martinez`."""
    return fold_words(text) if text else ""


def name_key(name: str | None) -> str:
    """What `q` is matched against for a name."""
    return normalize(name)


def document_key(document: str | None) -> str:
    """What `q` is matched against for a document, with and without punctuation, so
    `30.123.456` is found by `30123456` and the other way round."""
    doc = normalize(document)
    digits = re.sub(r"\D", "", doc)
    return doc if doc == digits else f"{doc} {digits}".strip()


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One line of one table as the store keeps it.

    `values` holds every cell except those derived at read time: `fecha` (from `date`, shown
    in the platform's time zone), the name and document columns (from `customer_name` and
    `document_number`, which follow customer renames, merges and anonymization) and `estado`.
    Values are stored as codes (a channel, a holder, Twilio's call state) and rendered in
    words by `row_cells`. `phone` is the caller's number (calls): a customer whose profile
    has that phone names a call its own customer left nameless.
    """

    table: str
    key: str
    version: int
    date: datetime
    status: str
    customer_name: str | None
    document_number: str | None
    customer_id: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    # The conversation the row came from: Ver opens it, and a service generated from a
    # call's conversation marks the call's row.
    conversation_id: str | None = None
    phone: str | None = None

    @property
    def row_id(self) -> str:
        return f"{self.table}:{self.key}"

    def fields(self) -> dict[str, Any]:
        """The stored document (without `_id`), with the normalized search keys."""
        return {
            "table": self.table,
            "key": self.key,
            "version": self.version,
            "date": self.date,
            "status": self.status,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name or "",
            "document_number": self.document_number or "",
            "search_name": name_key(self.customer_name),
            "search_document": document_key(self.document_number),
            "values": self.values,
            "conversation_id": self.conversation_id,
            "phone": self.phone,
        }


def _text(value: object | None) -> str:
    return "" if value is None else str(value)


def rows_from_conversation(event: ConversationEvent) -> list[Row]:
    """A chat row (WhatsApp, Messenger, web) or a call row (IVR) for the conversation."""
    conv = event.conversation
    if conv.channel == "ivr":
        call = conv.call
        return [
            Row(
                table="llamadas",
                key=call.call_sid if call else conv.conversation_id,
                version=conv.version,
                date=conv.opened_at,
                # The call's state is its conversation's (DESIGN.md); Twilio's is a column.
                status=conv.status,
                customer_name=conv.customer_name,
                document_number=conv.document_number,
                customer_id=conv.customer_id,
                values={
                    "id": call.call_sid if call else conv.conversation_id,
                    "motivo": _text(call.motive if call else None),
                    "ciudad": _text(call.city if call else None),
                    "estado_llamada": (call.call_status if call else None) or NO_CALL_STATE,
                },
                conversation_id=conv.conversation_id,
                phone=(call.caller_number if call else None) or None,
            )
        ]
    return [
        Row(
            table="chats",
            key=conv.conversation_id,
            version=conv.version,
            date=conv.opened_at,
            status=conv.status,
            customer_name=conv.customer_name,
            document_number=conv.document_number,
            customer_id=conv.customer_id,
            values={
                "id": conv.conversation_id,
                "origen": conv.channel,
                "holder": conv.holder or "",
                # Routing masks already; masking twice costs little and survives a bug there.
                "ultimo_mensaje": mask_secrets(conv.last_message_preview) or "",
            },
            conversation_id=conv.conversation_id,
        )
    ]


def rows_from_ticket(event: TicketEvent) -> list[Row]:
    """A technical-service row (created/confirmed/cancelled) or a sales-call row."""
    if event.action == "sales_call" and event.sales_call is not None:
        call = event.sales_call
        call_status = call.call_status or NO_CALL_STATE
        return [
            Row(
                table="llamadas_ventas",
                key=call.call_sid,
                version=call.revision,
                date=call.received_at,
                status=ABIERTA if call_status in OPEN_CALL_STATUSES else CERRADA,
                customer_name=call.customer_name,
                document_number=call.document_number,
                customer_id=call.customer_id,
                values={
                    "id": call.call_sid,
                    "telefono": _text(call.caller_number),
                    "ciudad": _text(call.city),
                    "motivo": _text(call.motive),
                    "estado_llamada": call_status,
                },
                conversation_id=call.conversation_id,
                phone=call.caller_number or None,
            )
        ]
    if event.service is None:
        return []
    svc = event.service
    return [
        Row(
            table="servicios",
            key=svc.service_id,
            version=svc.version,
            date=svc.created_at,
            status=svc.status,
            customer_name=svc.customer_name,
            document_number=svc.document_number,
            customer_id=svc.customer_id,
            values={"numero": svc.number, "motivo": svc.reason},
        )
    ]


def rows_from_consultation(event: ConsultationEvent) -> list[Row]:
    c = event.consultation
    contact = " / ".join(x for x in (c.email, c.phone) if x)
    return [
        Row(
            table="consultas",
            key=c.consultation_id,
            version=c.version,
            date=c.created_at,
            status=c.status,
            customer_name=c.name,
            document_number=c.document_number,
            customer_id=c.customer_id,
            values={"contacto": contact, "asunto": mask_secrets(c.subject) or ""},
        )
    ]


# --------------------------------------------------------------------------- customers


@dataclass(frozen=True)
class CustomerFacts:
    """What a row shows of its customer: the name and document, or blanks once anonymized."""

    customer_id: str
    name: str | None
    document_number: str | None
    anonymized: bool
    version: int
    # The customer's phones (E.164 digits): a call from one of them names this customer.
    phones: tuple[str, ...] = ()


PHONE_CHANNELS = ("whatsapp", "ivr")


def phone_digits(phone: str | None) -> str:
    """The digits of an E.164 phone (`+54 9 11 5555-0000` → `5491155550000`); a caller id
    that is not a phone (`anonymous:CA1`, `client:alice`) has none."""
    if not phone or not phone.strip().startswith("+"):
        return ""
    digits = re.sub(r"\D", "", phone)
    return digits if 8 <= len(digits) <= 15 else ""


def customer_phones(snapshot: CustomerSnapshot) -> tuple[str, ...]:
    """Every phone of the profile and of its phone-based identities (WhatsApp, calls)."""
    found = [snapshot.mobile_phone, snapshot.home_phone]
    found += [i.external_id for i in snapshot.identities if i.channel in PHONE_CHANNELS]
    return tuple(sorted({d for d in map(phone_digits, found) if d}))


def customer_facts(snapshot: CustomerSnapshot) -> CustomerFacts:
    if snapshot.anonymized:
        return CustomerFacts(snapshot.customer_id, None, None, True, snapshot.version)
    return CustomerFacts(
        snapshot.customer_id,
        snapshot.full_name,
        snapshot.document_number,
        False,
        snapshot.version,
        customer_phones(snapshot),
    )


def caller_fields(facts: CustomerFacts) -> dict[str, Any]:
    """What a call row from `facts`' phone shows when its own customer has no name: the
    name and document of the customer that phone belongs to (the row's customer is kept,
    so a later merge or rename of the caller's own profile still reaches it)."""
    return {
        "customer_name": facts.name or "",
        "search_name": name_key(facts.name),
        "document_number": facts.document_number or "",
        "search_document": document_key(facts.document_number),
        "named_by_phone": facts.customer_id,
    }


def customer_fields(facts: CustomerFacts) -> dict[str, Any]:
    """The row fields a customer's profile decides, to `$set` on each of their rows.

    A field the profile leaves empty is not set, so a profile without a document never
    erases the document a ticket carried; anonymization blanks every personal field.
    """
    fields: dict[str, Any] = {"customer_id": facts.customer_id}
    if facts.anonymized:
        fields.update(customer_name="", document_number="", search_name="", search_document="")
        fields.update(origin_name="", origin_document="")
        fields.update({f"values.{col}": "" for col in PERSONAL_COLUMNS})
        return fields
    if facts.name:
        fields["customer_name"] = facts.name
        fields["search_name"] = name_key(facts.name)
        fields["named_by_phone"] = None  # the row's own customer names it now
    if facts.document_number:
        fields["document_number"] = facts.document_number
        fields["search_document"] = document_key(facts.document_number)
    return fields


def apply_customer(row: Row, facts: CustomerFacts) -> Row:
    """The row as its customer's current profile shows it."""
    row.customer_id = facts.customer_id
    if facts.anonymized:
        row.customer_name = ""
        row.document_number = ""
        for col in TABLES[row.table].personal_columns:
            row.values[col] = ""
        return row
    row.customer_name = facts.name or row.customer_name
    row.document_number = facts.document_number or row.document_number
    return row


# --------------------------------------------------------------------------- cells


def format_date(moment: datetime | None, tz: ZoneInfo) -> str:
    """`07/12/2026 09:34` in the business time zone (`shared.words.date_time_text`)."""
    return date_time_text(moment, tz)


def motive_word(motive: str | None) -> str:
    """A call's motive as staff read it: `Soporte técnico: sin conexión a internet`; a call
    whose caller chose nothing yet says so instead of a blank."""
    text = (motive or "").strip()
    return text[:1].upper() + text[1:] if text else NO_MOTIVE


def _responsable(values: Mapping[str, Any], directory: Mapping[str, str] | None) -> str:
    if "holder" in values:
        return person_name(values.get("holder") or None, directory)
    # Rows stored before holders were kept as ids hold a label or an id here.
    legacy = _text(values.get("responsable"))
    return person_name(legacy, directory) if ":" in legacy or legacy == "lara" else legacy


def row_cells(
    table: Table,
    doc: Mapping[str, Any],
    tz: ZoneInfo,
    directory: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The row as staff read it, one string per column key: the same cells on the screen,
    in Copy and in Print. Statuses, channels, call states and people are words
    (`shared.words`); dates are dd/mm/aaaa HH:MM in the business time zone. `directory`
    names users (id → display name) when the caller has one.

    Text a customer typed is masked again here, on the way out: a row stored before masking
    existed, or by a buggy producer, still never shows a password.
    """
    values: Mapping[str, Any] = doc.get("values") or {}
    cells: dict[str, str] = {}
    for col in table.keys:
        if col == "fecha":
            cells[col] = format_date(doc.get("date"), tz)
        elif col == "estado":
            cells[col] = status_word(doc.get("status"))
        elif col == table.name_column:
            cells[col] = _text(doc.get("customer_name"))
        elif col == table.document_column:
            cells[col] = _text(doc.get("document_number"))
        elif col == "estado_llamada":
            cells[col] = call_state_word(values.get(col))
        elif col == "origen":
            cells[col] = channel_word(values.get(col))
        elif col == "responsable":
            cells[col] = _responsable(values, directory)
        elif col == "motivo" and table.name in CALL_TABLES:
            cells[col] = motive_word(values.get(col))
        else:
            cells[col] = _text(values.get(col))
    for col in table.typed_columns:
        cells[col] = mask_secrets(cells[col]) or ""
    return cells


CALL_TABLES = frozenset({"llamadas", "llamadas_ventas"})


@dataclass(frozen=True)
class RowActions:
    """What a row offers besides its cells: Ver (the conversation it came from) and Tomar
    (an open chat no person holds yet; the console shows it to roles that may take)."""

    conversation_id: str | None
    takeable: bool


def row_actions(table: Table, doc: Mapping[str, Any]) -> RowActions:
    values: Mapping[str, Any] = doc.get("values") or {}
    conversation_id = doc.get("conversation_id")
    if table.name == "chats":
        conversation_id = conversation_id or values.get("id")
    holder = values.get("holder") or None
    takeable = (
        table.name == "chats"
        and doc.get("status") == ABIERTA
        and "holder" in values
        and holder in (None, "lara")
    )
    return RowActions(conversation_id=conversation_id or None, takeable=takeable)


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class TableFilter:
    """The filters shared by the list, Copy and Print of a table."""

    q: str | None = None
    desde: date | None = None
    hasta: date | None = None
    estado: str | None = None  # None: the table's open statuses; "todos": all

    def describe(self) -> str:
        """The active filters in words, for the printed page."""
        parts = []
        if self.q:
            parts.append(f"búsqueda «{self.q}»")
        if self.desde:
            parts.append(f"desde {date_text(self.desde)}")
        if self.hasta:
            parts.append(f"hasta {date_text(self.hasta)}")
        if self.estado is None:
            parts.append("estado: abiertos")
        elif self.estado == ALL_STATUSES:
            parts.append("estado: todos")
        else:
            parts.append(f"estado: {status_word(self.estado)}")
        return "Filtros: " + " · ".join(parts)


def parse_day(value: str | None, name: str) -> date | None:
    """A `YYYY-MM-DD` query parameter, or BadFilter naming the parameter."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadFilter(f"{name} must be a date as YYYY-MM-DD, got {value!r}")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise BadFilter(f"{name} is not a valid date: {value!r}") from exc
    # Far ends would overflow when shifted to UTC or to the next day.
    if not 1900 <= day.year <= 9998:
        raise BadFilter(f"{name} must be between 1900 and 9998, got {value!r}")
    return day


def make_filter(
    q: str | None, desde: str | None, hasta: str | None, estado: str | None
) -> TableFilter:
    start = parse_day(desde, "desde")
    end = parse_day(hasta, "hasta")
    if start and end and start > end:
        raise BadFilter(f"desde ({start}) is after hasta ({end})")
    q = (q or "").strip() or None
    if q is not None and len(q) > 200:
        raise BadFilter("q is longer than 200 characters")
    estado = (estado or "").strip() or None
    if estado is not None and len(estado) > 64:
        raise BadFilter("estado is longer than 64 characters")
    return TableFilter(q=q, desde=start, hasta=end, estado=estado)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of `day` in the platform's time zone, as a UTC-comparable aware datetime."""
    return datetime.combine(day, time.min, tzinfo=tz)


def _word_root(word: str) -> str:
    """A word without its gender and number ending: `abierto`, `abiertas` -> `abiert`."""
    return re.sub(r"(?:os|as|o|a)$", "", word) or word


def status_key(text: str) -> str:
    """How a typed status is compared: case, accents, `_`/`-`, gender and plural ignored,
    so `CERRADA`, `Cerrada`, `cerrado`, `GENERÓ SERVICIO TÉCNICO` and the slug all match."""
    words = normalize(re.sub(r"[_\-]+", " ", text)).split()
    return " ".join(_word_root(word) for word in words)


ALL_STATUS_KEYS = frozenset({status_key(ALL_STATUSES), status_key("todo")})
OPEN_KEY = status_key("abiertos")
CLOSED_KEY = status_key("cerrados")


def resolve_status(table: Table, estado: str | None) -> list[str] | None:
    """The stored statuses `estado` selects in `table`; None means every status.

    Omitted: the table's open statuses. A status of the table in any written form selects
    it; `abierto(s)` / `cerrado(s)` select the open / the other statuses where the table has
    no status of that name (services); anything else is a BadFilter naming the choices.
    """
    if estado is None:
        return sorted(table.open_statuses)
    key = status_key(estado)
    if key in ALL_STATUS_KEYS:
        return None
    for status in table.statuses:
        if key in (status_key(status), status_key(status_word(status))):
            return [status]
    if key == OPEN_KEY:
        return sorted(table.open_statuses)
    if key == CLOSED_KEY:
        return sorted(set(table.statuses) - table.open_statuses)
    choices = ", ".join(status_word(s) for s in table.statuses)
    raise BadFilter(f"unknown estado {estado!r} for {table.name}; expected one of {choices}, todos")


DIGIT_GROUPS = re.compile(r"\d+(?:[\s.\-/]+\d+)+")


def search_terms(q: str | None) -> list[str]:
    """What `q` is matched with, word by word. Digit groups joined by dashes, dots,
    slashes or spaces are one term of their digits, so `30-123-456`, `30.123.456` and
    `30 123 456` all find the document `30.123.456` (stored with and without dots)."""
    text = DIGIT_GROUPS.sub(lambda m: re.sub(r"\D", "", m.group()), normalize(q))
    return text.split()


@dataclass(frozen=True)
class RowQuery:
    """Which rows of a table a filter selects, as plain values (the store queries them)."""

    table: str
    statuses: list[str] | None = None  # None: every status
    since: datetime | None = None  # rows dated at or after this moment
    before: datetime | None = None  # rows dated before this moment
    # Every term must appear in the row's name or document (search_name / search_document).
    terms: list[str] = field(default_factory=list)


def row_query(table: Table, flt: TableFilter, tz: ZoneInfo) -> RowQuery:
    """The rows of the table `flt` selects; dates are whole days in `tz`.

    Raises BadFilter for an `estado` the table does not know.
    """
    return RowQuery(
        table=table.name,
        statuses=resolve_status(table, flt.estado),
        since=day_start(flt.desde, tz) if flt.desde else None,
        before=day_start(flt.hasta + timedelta(days=1), tz) if flt.hasta else None,
        terms=search_terms(flt.q),
    )


SORT = [("date", -1), ("_id", 1)]
# What rendering a row reads: less to decode per row when Copy streams 100,000 of them.
CELL_FIELDS = {
    "date": 1,
    "status": 1,
    "customer_name": 1,
    "document_number": 1,
    "values": 1,
    "conversation_id": 1,
}
