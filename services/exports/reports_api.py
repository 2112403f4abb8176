"""HTTP API of the reports (issue 27): `GET /api/reports/{report}` as JSON (rows for the
table, what the chart draws), `/copy` (tab-separated) and `/print` (PDF, the table).

Every report reads the counters of a range of days (`desde`, `hasta`, YYYY-MM-DD in the
deployment's time zone; default: the last 7 days, today included; at most 366 days) and
optionally one channel (`canal`). Bad input: 422 `bad_filter`. Agents read only the
`personas` report, and in it only their own row.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.exports.copy import tsv_line
from services.exports.print_slots import PrintBusy, PrintSlots
from services.exports.report_printing import Chart, render_report_pdf
from services.exports.report_rows import (
    WEEKDAYS,
    channel_rows,
    days_between,
    hour_matrix,
    lara_rows,
    people_rows,
    work_rows,
)
from services.exports.reports_store import ReportsStore
from services.exports.tables import BadFilter, parse_day
from shared import errors
from shared.access import Directory
from shared.auth import User, ensure_allowed, may
from shared.config import Settings
from shared.contracts.base import CHANNELS
from shared.words import channel_word, date_time_text, person_name, zone_word

MAX_DAYS = 366
DEFAULT_DAYS = 7

# Each column: its key, its label, and how it is shown ("text", "day", "count", "seconds").
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "personas": [
        ("persona", "PERSONA", "text"),
        ("taken", "TOMADAS", "count"),
        ("closed", "CERRADAS", "count"),
        ("returned", "DEVUELTAS", "count"),
        ("escalated", "ESCALADAS", "count"),
        ("hold_reminders", "RECORDATORIOS DE ESPERA", "count"),
        ("first_response_median", "1ª RESPUESTA (MEDIANA)", "seconds"),
        ("first_response_p90", "1ª RESPUESTA (P90)", "seconds"),
        ("handle_median", "ATENCIÓN (MEDIANA)", "seconds"),
        ("handle_p90", "ATENCIÓN (P90)", "seconds"),
    ],
    "canales": [
        ("day", "DÍA", "day"),
        ("canal", "CANAL", "text"),
        ("inbound", "MENSAJES ENTRANTES", "count"),
        ("opened", "ABIERTAS", "count"),
        ("closed", "CERRADAS", "count"),
        ("lara_resolved", "RESUELTAS POR LARA", "count"),
        ("handovers", "DERIVADAS A PERSONAS", "count"),
        ("first_response_missed", "1ª RESPUESTA FUERA DE PLAZO", "count"),
        ("csat_answers", "ENCUESTAS RESPONDIDAS", "count"),
        ("csat_average", "SATISFACCIÓN (1 A 5)", "text"),
    ],
    "horas": [("weekday", "DÍA", "text")] + [(f"h{h}", f"{h:02d}", "count") for h in range(24)],
    "lara": [
        ("by", "QUIÉN DERIVÓ", "text"),
        ("reason", "MOTIVO", "text"),
        ("count", "DERIVACIONES", "count"),
    ],
    "servicios": [
        ("day", "DÍA", "day"),
        ("services_created", "SERVICIOS CREADOS", "count"),
        ("services_confirmed", "CONFIRMADOS", "count"),
        ("services_cancelled", "CANCELADOS", "count"),
        ("confirm_median", "HASTA CONFIRMAR (MEDIANA)", "seconds"),
        ("consultations_created", "CONSULTAS CREADAS", "count"),
        ("consultations_answered", "RESPONDIDAS", "count"),
        ("consultations_converted", "CONVERTIDAS EN SERVICIO", "count"),
        ("answer_median", "HASTA RESPONDER (MEDIANA)", "seconds"),
    ],
}
TITLES = {
    "personas": "Reporte por persona",
    "canales": "Volumen por canal y día",
    "horas": "Conversaciones abiertas por día de la semana y hora",
    "lara": "Lara: resueltas sin persona y derivaciones por motivo",
    "servicios": "Servicios técnicos y consultas",
}
# How the console draws each report.
CHARTS = {
    "personas": "bars",
    "canales": "lines",
    "horas": "heatmap",
    "lara": "bars",
    "servicios": "bars",
}

Desde = Annotated[str | None, Query(description="First day, YYYY-MM-DD (default: 6 days ago)")]
Hasta = Annotated[str | None, Query(description="Last day, inclusive (default: today)")]
Canal = Annotated[str | None, Query(description="whatsapp, messenger, webchat or ivr")]
# Every report route declares `reports.own`; all but `personas` also need `reports.read`.
ReportsUser = Annotated[User, may("reports.own")]
ReportName = Annotated[str, Path(json_schema_extra={"enum": list(COLUMNS)})]


class Range(NamedTuple):
    desde: date
    hasta: date
    canal: str | None

    def describe(self) -> str:
        text = f"Del {self.desde:%d/%m/%Y} al {self.hasta:%d/%m/%Y}"
        return text + (f" · canal: {channel_word(self.canal)}" if self.canal else "")


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: str


class ReportOut(BaseModel):
    report: str
    title: str
    chart: str  # bars, lines or heatmap
    desde: str
    hasta: str
    canal: str | None
    columns: list[ColumnOut]
    # Numbers as numbers, seconds as seconds (null: no sample), days as YYYY-MM-DD.
    rows: list[dict[str, Any]]
    summary: dict[str, Any]  # report-wide figures (lara: resolved, closed, handovers)


def seconds_text(value: Any) -> str:
    """`75` → `1:15`, `3725` → `1:02:05`; no sample → `—`."""
    if value is None:
        return "—"
    minutes, seconds = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def day_text(value: str) -> str:
    """`2026-12-07` → `07/12/2026`, as staff write dates; the total row → `Total`."""
    if value == "total":
        return "Total"
    year, month, day = value.split("-")
    return f"{day}/{month}/{year}"


def cell_text(value: Any, kind: str) -> str:
    if kind == "seconds":
        return seconds_text(value)
    if kind == "day":
        return day_text(str(value))
    return "" if value is None else str(value)


def chart_of(out: ReportOut) -> Chart:
    """What the console draws (js/reports.js `chartOf`), for Print."""
    rows = out.rows

    def values(keys: list[str], names: list[str], source: list[dict[str, Any]]) -> Any:
        pairs = zip(keys, names, strict=True)
        return [(n, [float(r.get(k) or 0) for r in source]) for k, n in pairs]

    if out.report == "personas":
        keys = ["taken", "closed", "returned", "escalated"]
        names = ["Tomadas", "Cerradas", "Devueltas", "Escaladas"]
        return Chart("bars", [r["persona"] for r in rows], values(keys, names, rows))
    if out.report == "canales":
        days = days_between(date.fromisoformat(out.desde), date.fromisoformat(out.hasta))
        inbound = {(r["day"], r["canal"]): float(r["inbound"]) for r in rows}
        series = [
            (channel, [inbound.get((d, channel), 0.0) for d in days])
            for channel in dict.fromkeys(r["canal"] for r in rows)
        ]
        return Chart("lines", [day_text(d)[:5] for d in days], series)
    if out.report == "horas":
        matrix = [[float(r[f"h{h}"]) for h in range(24)] for r in rows]
        columns = [f"{h:02d}" for h in range(24)]
        return Chart("heatmap", [r["weekday"] for r in rows], matrix=matrix, columns=columns)
    if out.report == "lara":
        return Chart("bars", [r["reason"] for r in rows], values(["count"], ["Derivaciones"], rows))
    days_rows = [r for r in rows if r["day"] != "total"]
    keys = ["services_created", "services_confirmed", "services_cancelled"]
    names = ["Creados", "Confirmados", "Cancelados"]
    return Chart("bars", [day_text(r["day"]) for r in days_rows], values(keys, names, days_rows))


def build_reports_router(
    store: ReportsStore,
    settings: Settings,
    slots: PrintSlots | None = None,
    directory: Directory | None = None,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/reports", tags=["reports"], responses=errors.responses(401, 403, 404, 422)
    )
    slots = slots or PrintSlots.from_settings(settings)
    tz = ZoneInfo(settings.tz)

    def report_range(desde: Desde = None, hasta: Hasta = None, canal: Canal = None) -> Range:
        try:
            end = parse_day(hasta, "hasta") or datetime.now(tz).date()
            start = parse_day(desde, "desde") or end - timedelta(days=DEFAULT_DAYS - 1)
            if start > end:
                raise BadFilter(f"desde ({start}) is after hasta ({end})")
            if (end - start).days >= MAX_DAYS:
                raise BadFilter(f"the range spans more than {MAX_DAYS} days")
            if canal and canal not in CHANNELS:
                raise BadFilter(f"canal must be one of {', '.join(CHANNELS)}, got {canal!r}")
        except BadFilter as exc:
            raise errors.Invalid(
                "Un filtro no es válido.",
                code="bad_filter",
                details=[{"message": str(exc), "type": "reason"}],
            ) from exc
        return Range(start, end, canal or None)

    def permitted_report(user: ReportsUser, report: ReportName) -> str:
        """The report, when it exists (404) and the caller's role may read it (403)."""
        if report not in COLUMNS:
            raise errors.NotFound(
                f"No existe el reporte {report!r}; los reportes son: {', '.join(COLUMNS)}.",
                code="unknown_report",
            )
        ensure_allowed(user, "reports.own" if report == "personas" else "reports.read")
        return report

    async def names() -> dict[str, str]:
        if directory is None:
            return {}
        return {p.id: p.name for p in await directory.people(only_active=False)}

    async def compute(report: str, rng: Range, user: User) -> ReportOut:
        desde, hasta = rng.desde.isoformat(), rng.hasta.isoformat()
        days = days_between(rng.desde, rng.hasta)
        summary: dict[str, Any] = {}
        if report == "personas":
            rows = people_rows(await store.read("people", desde, hasta, rng.canal))
            if user.role == "agent":
                rows = [r for r in rows if r["person"] == user.actor]
            people = await names()
            for row in rows:
                row["persona"] = person_name(row["person"], people)
        elif report == "canales":
            rows = channel_rows(await store.read("hours", desde, hasta, rng.canal), days)
            for row in rows:
                row["canal"] = channel_word(row["channel"])
        elif report == "horas":
            matrix = hour_matrix(await store.read("hours", desde, hasta, rng.canal))
            rows = [
                {"weekday": WEEKDAYS[d], **{f"h{h}": matrix[d][h] for h in range(24)}}
                for d in range(7)
            ]
        elif report == "lara":
            hours = await store.read("hours", desde, hasta, rng.canal)
            lara = lara_rows(hours, await store.read("handovers", desde, hasta, rng.canal))
            rows = [{**r, "by": person_name(r["by"])} for r in lara.pop("rows")]
            summary = lara
        else:
            rows = work_rows(await store.read("work", desde, hasta, rng.canal), days)
        return ReportOut(
            report=report,
            title=TITLES[report],
            chart=CHARTS[report],
            desde=desde,
            hasta=hasta,
            canal=rng.canal,
            columns=[ColumnOut(key=k, label=lbl, kind=kind) for k, lbl, kind in COLUMNS[report]],
            rows=rows,
            summary=summary,
        )

    def table_of(out: ReportOut) -> tuple[list[str], list[list[str]]]:
        """The table as text, exactly as the console shows it below the chart."""
        labels = [c.label for c in out.columns]
        rows = [[cell_text(r.get(c.key), c.kind) for c in out.columns] for r in out.rows]
        return labels, rows

    @router.get("/{report}", summary="A report over a range of days, for its chart and table")
    async def get_report(
        user: ReportsUser,
        report: str = Depends(permitted_report),
        rng: Range = Depends(report_range),
    ) -> ReportOut:
        return await compute(report, rng, user)

    @router.get(
        "/{report}/copy",
        summary="A report's table as tab-separated text (Copy)",
        response_class=Response,
        responses={200: {"content": {"text/tab-separated-values": {}}}},
    )
    async def copy_report(
        user: ReportsUser,
        report: str = Depends(permitted_report),
        rng: Range = Depends(report_range),
    ) -> Response:
        labels, rows = table_of(await compute(report, rng, user))
        text = tsv_line(labels) + "".join(tsv_line(r) for r in rows)
        return Response(
            text.encode(),
            media_type="text/tab-separated-values; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="reporte-{report}.tsv"'},
        )

    @router.get(
        "/{report}/print",
        summary="A report's table as a landscape A4 PDF (Print)",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, **errors.responses(429)},
    )
    async def print_report(
        user: ReportsUser,
        report: str = Depends(permitted_report),
        rng: Range = Depends(report_range),
    ) -> Response:
        out = await compute(report, rng, user)
        labels, rows = table_of(out)
        generated = date_time_text(datetime.now(tz), tz)
        subtitle = [
            rng.describe(),
            f"Generado el {generated} ({zone_word(settings.tz)}) por "
            f"{person_name(user.id, await names())} · {len(rows)} filas",
        ]
        try:
            with slots.claim(user.id):
                pdf, _ = await slots.run(
                    render_report_pdf, out.title, subtitle, labels, rows, chart_of(out)
                )
        except PrintBusy as exc:
            raise errors.TooManyRequests(
                str(exc), code="print_busy", headers={"Retry-After": "5"}
            ) from exc
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="reporte-{report}.pdf"'},
        )

    return router
