"""HTTP API of the exports service: each table as JSON, as Copy (TSV) and as Print (PDF),
and the catalogue the console builds its tabs and filters from.

The three views share one filter parser, one MongoDB filter and one renderer of cells
(`tables.row_cells`, words from `shared.words`), so what is copied or printed is exactly,
word for word, what the screen lists. Unknown table: 404; bad filter: 422.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from services.exports.copy import tsv_line
from services.exports.metrics import EXPORT_ROWS, EXPORT_SECONDS
from services.exports.print_slots import PrintBusy, PrintSlots
from services.exports.printing import render_pdf
from services.exports.store import ExportsStore
from services.exports.tables import (
    TABLES,
    BadFilter,
    RowQuery,
    Table,
    TableFilter,
    UnknownTable,
    make_filter,
    row_actions,
    row_cells,
    row_query,
    table_named,
)
from shared import errors
from shared.access import Directory
from shared.auth import CurrentUser, User, ensure_allowed, may, roles_for
from shared.config import Settings
from shared.logging import get_logger
from shared.words import (
    catalogue_words,
    date_time_text,
    person_name,
    status_word,
    zone_word,
)

log = get_logger("exports")

# Print renders in memory; beyond this many rows the caller is asked to narrow the filters.
PRINT_MAX_ROWS = 20_000
COPY_CHUNK_ROWS = 500
# A table is read under the permission of the records it shows (`shared.auth.POLICY`): the
# consultas table, its Copy and its Print exactly as GET /api/consultations.
TABLE_PERMISSION = {"consultas": "consultations.read", "servicios": "services.read"}

Q = Annotated[str | None, Query(description="Customer name or document; accents/case ignored")]
DESDE = Annotated[str | None, Query(description="First day, YYYY-MM-DD, in the platform's TZ")]
HASTA = Annotated[str | None, Query(description="Last day (inclusive), YYYY-MM-DD")]
# Documented as an enum; an unknown name still answers 404 `unknown_table`, not a 422.
TableName = Annotated[str, Path(description="The table", json_schema_extra={"enum": list(TABLES)})]
ESTADO = Annotated[
    str | None,
    Query(
        description="Omitted: open rows; `todos`: all; else a status of the table in any "
        "case, with or without accents (`cerrada`, `CERRADA`, `GENERÓ SERVICIO TÉCNICO`)"
    ),
]


class Selection(NamedTuple):
    table: Table
    filter: TableFilter
    query: RowQuery


class ColumnOut(BaseModel):
    key: str
    label: str


class RowActionsOut(BaseModel):
    """Ver opens `conversation_id` (null: nothing to open); Tomar applies when `takeable`."""

    conversation_id: str | None
    takeable: bool


class TablePage(BaseModel):
    table: str
    columns: list[ColumnOut]
    rows: list[dict[str, str]]
    # actions[i] belongs to rows[i].
    actions: list[RowActionsOut]
    total: int
    page: int
    page_size: int


class StateOut(BaseModel):
    value: str  # what `estado` takes
    label: str  # what staff read (the same word the rows show)


class FilterOut(BaseModel):
    name: str  # the query parameter
    label: str


class TableOut(BaseModel):
    name: str
    title: str
    columns: list[ColumnOut]
    filters: list[FilterOut]
    states: list[StateOut]
    default_state: str  # what the ESTADO filter shows when omitted (the open rows)


class Catalogue(BaseModel):
    """The tables the caller's role may read, in the order of seed 004's tabs (the first is
    where the console opens), with the business time zone and every display word."""

    time_zone: str
    date_format: str
    tables: list[TableOut]
    words: dict[str, dict[str, str]]


FILTERS = [
    FilterOut(name="q", label="BUSCAR"),
    FilterOut(name="desde", label="DESDE"),
    FilterOut(name="hasta", label="HASTA"),
    FilterOut(name="estado", label="ESTADO"),
]


def table_permission(table: Table) -> str:
    return TABLE_PERMISSION.get(table.name, "tables.conversations")


def describe_table(table: Table) -> TableOut:
    return TableOut(
        name=table.name,
        title=table.title,
        columns=[ColumnOut(key=c.key, label=c.label) for c in table.columns],
        filters=FILTERS,
        states=[StateOut(value=s, label=status_word(s)) for s in table.statuses],
        default_state=table.open_label,
    )


def build_router(
    store: ExportsStore,
    settings: Settings,
    slots: PrintSlots | None = None,
    directory: Directory | None = None,
) -> APIRouter:
    """The tables' routes. `slots` bounds and runs the Prints (one from the settings when
    not given; the service passes its own to close the worker processes on shutdown);
    `directory` names people (without it, ids are made readable: `staff:ana` → `Ana`)."""
    router = APIRouter(
        prefix="/api/tables", tags=["exports"], responses=errors.responses(401, 403, 404, 422)
    )
    slots = slots or PrintSlots.from_settings(settings)
    tz = ZoneInfo(settings.tz)

    def selection(
        table: TableName,
        q: Q = None,
        desde: DESDE = None,
        hasta: HASTA = None,
        estado: ESTADO = None,
    ) -> Selection:
        """The table and filters every view shares (JSON, Copy, Print): same rows in all."""
        try:
            tbl = table_named(table)
        except UnknownTable as exc:
            raise errors.NotFound(
                f"No existe la tabla {table!r}; las tablas son: {', '.join(TABLES)}.",
                code="unknown_table",
            ) from exc
        try:
            flt = make_filter(q, desde, hasta, estado)
            return Selection(tbl, flt, row_query(tbl, flt, tz))
        except BadFilter as exc:
            raise errors.Invalid(
                "Un filtro no es válido.",
                code="bad_filter",
                details=[{"message": str(exc), "type": "reason"}],
            ) from exc

    def permitted(user: CurrentUser, selected: Selection = Depends(selection)) -> Selection:
        """The selection, when the caller's role may read that table (403 otherwise)."""
        ensure_allowed(user, table_permission(selected.table))
        return selected

    # The one call site that names people in the tables: the directory's names, read once
    # per request (screen, Copy and Print alike: a handful of users, one small query, and a
    # new or renamed person shows at once), else ids made readable.
    async def directory_names() -> dict[str, str]:
        if directory is None:
            return {}
        return {person.id: person.name for person in await directory.people(only_active=False)}

    def cells_of(tbl: Table, doc: dict[str, Any], people: dict[str, str]) -> dict[str, str]:
        return row_cells(tbl, doc, tz, people)

    @router.get("", summary="The tables, their columns, filters and states, in words")
    async def catalogue(
        # Every role reads some table: the list holds those the caller's role may read.
        user: Annotated[User, may("tables.conversations")],
    ) -> Catalogue:
        return Catalogue(
            time_zone=settings.tz,
            date_format="dd/mm/aaaa HH:MM",
            tables=[
                describe_table(tbl)
                for tbl in TABLES.values()
                if user.role in roles_for(table_permission(tbl))
            ],
            words=catalogue_words(),
        )

    @router.get("/{table}", summary="One page of a table's rows, filtered")
    async def list_rows(
        user: CurrentUser,
        selected: Selection = Depends(permitted),
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> TablePage:
        started = time.perf_counter()
        tbl, _, query = selected
        docs, total = await store.page(query, (page - 1) * page_size, page_size)
        people = await directory_names()
        rows = [cells_of(tbl, doc, people) for doc in docs]
        actions = [RowActionsOut(**vars(row_actions(tbl, doc))) for doc in docs]
        EXPORT_ROWS.labels(tbl.name, "json").inc(len(rows))
        EXPORT_SECONDS.labels(tbl.name, "json").observe(time.perf_counter() - started)
        return TablePage(
            table=tbl.name,
            columns=[ColumnOut(key=c.key, label=c.label) for c in tbl.columns],
            rows=rows,
            actions=actions,
            total=total,
            page=page,
            page_size=page_size,
        )

    @router.get(
        "/{table}/copy",
        summary="The filtered rows as tab-separated text (Copy), streamed",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/tab-separated-values": {}}}},
    )
    async def copy_rows(
        user: CurrentUser, selected: Selection = Depends(permitted)
    ) -> StreamingResponse:
        tbl, _, query = selected

        async def lines() -> AsyncIterator[bytes]:
            started = time.perf_counter()
            people = await directory_names()
            count = 0
            yield tsv_line(tbl.labels).encode()
            chunk: list[str] = []
            async for doc in store.stream(query):
                cells = cells_of(tbl, doc, people)
                chunk.append(tsv_line(cells[k] for k in tbl.keys))
                if len(chunk) >= COPY_CHUNK_ROWS:
                    count += len(chunk)
                    yield "".join(chunk).encode()
                    chunk = []
            if chunk:
                count += len(chunk)
                yield "".join(chunk).encode()
            EXPORT_ROWS.labels(tbl.name, "copy").inc(count)
            EXPORT_SECONDS.labels(tbl.name, "copy").observe(time.perf_counter() - started)

        return StreamingResponse(
            lines(),
            media_type="text/tab-separated-values; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{tbl.name}.tsv"'},
        )

    @router.get(
        "/{table}/print",
        summary="The filtered rows as a landscape A4 PDF (Print)",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, **errors.responses(413, 429)},
    )
    async def print_rows(user: CurrentUser, selected: Selection = Depends(permitted)) -> Response:
        try:
            with slots.claim(user.id):
                return await _print(user.id, selected)
        except PrintBusy as exc:
            raise errors.TooManyRequests(
                str(exc), code="print_busy", headers={"Retry-After": "5"}
            ) from exc

    async def _print(user_id: str, selected: Selection) -> Response:
        started = time.perf_counter()
        tbl, flt, query = selected
        total = await store.count(query)
        if total > PRINT_MAX_ROWS:
            raise errors.PayloadTooLarge(
                f"{total} filas coinciden; Imprimir admite hasta {PRINT_MAX_ROWS}: acote los "
                "filtros o use Copiar.",
                code="too_many_rows",
            )
        rows: list[list[str]] = []
        people = await directory_names()
        async for doc in store.stream(query):
            cells = cells_of(tbl, doc, people)
            rows.append([cells[k] for k in tbl.keys])
        generated = date_time_text(datetime.now(tz), tz)
        subtitle = [
            flt.describe(),
            f"Generado el {generated} ({zone_word(settings.tz)}) por "
            f"{person_name(user_id, people)} · {len(rows)} filas",
        ]
        # Layout is CPU-bound: in a worker process, so webhooks and consumers go on.
        pdf, pages = await slots.run(render_pdf, tbl.title, subtitle, tbl.labels, rows)
        EXPORT_ROWS.labels(tbl.name, "print").inc(len(rows))
        EXPORT_SECONDS.labels(tbl.name, "print").observe(time.perf_counter() - started)
        log.info("table printed", table=tbl.name, rows=len(rows), pages=pages, user=user_id)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{tbl.name}.pdf"'},
        )

    return router
