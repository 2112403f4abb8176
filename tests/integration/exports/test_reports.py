"""Issue 27: the reports read model, fed through the broker by a scripted day of traffic
whose figures are worked out by hand below; a redelivery counts nothing twice.

Each test plays its day on a random date far from other tests' events, with its own people,
so the figures are exactly this script's.
"""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.exports.reports_feed import count_conversations
from services.exports.reports_store import ReportsStore
from shared.contracts import (
    ConsultationEvent,
    ConsultationSnapshot,
    ConversationEvent,
    ConversationSnapshot,
    Identity,
    Satisfaction,
    ServiceSnapshot,
    TicketEvent,
)
from tests.support import Platform, eventually
from tests.unit.exports.factories import uid

# --------------------------------------------------------------- the script


class Day:
    """A day of traffic on a random date (local time of the deployment)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.tz = ZoneInfo(platform.settings.tz)
        self.date = date(2040, 1, 1) + timedelta(days=random.randrange(20_000))
        self.u = uid()
        self.ana = f"agent:ana{self.u}"
        self.beto = f"staff:beto{self.u}"
        self.sup = f"staff:sup{self.u}"
        self.versions: dict[str, int] = {}
        self.opened: dict[str, datetime] = {}
        self.sent: list[ConversationEvent] = []

    def at(self, clock: str) -> datetime:
        hour, minute = (int(x) for x in clock.split(":"))
        return datetime(
            self.date.year, self.date.month, self.date.day, hour, minute, tzinfo=self.tz
        )

    async def conv(
        self,
        conv: str,
        clock: str,
        actions: list[str],
        actor: str,
        holder: str | None,
        *,
        channel: str = "whatsapp",
        status: str = "abierta",
        note: str | None = None,
        change: str | None = None,
        satisfaction: int | None = None,
    ) -> None:
        conv_id = f"rep-{self.u}-{conv}"
        version = self.versions[conv_id] = self.versions.get(conv_id, 0) + 1
        event = ConversationEvent(
            action=actions[0],  # type: ignore[arg-type]
            actions=actions,  # type: ignore[arg-type]
            actor=actor,
            note=note,
            change=change,
            occurred_at=self.at(clock),
            conversation=ConversationSnapshot(
                conversation_id=conv_id,
                channel=channel,  # type: ignore[arg-type]
                identity=Identity(channel=channel, external_id=f"ext-{conv_id}"),  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                holder=holder,
                opened_at=self.opened.setdefault(conv_id, self.at(clock)),
                version=version,
                queue=None if holder else "agentes",
                satisfaction=(
                    Satisfaction(score=satisfaction, answered_at=self.at(clock))
                    if satisfaction
                    else None
                ),
            ),
        )
        self.sent.append(event)
        await self.platform.ctx.bus.publish(event)

    async def service(self, sid: str, action: str, created: str, when: str) -> None:
        status = {"created": "pendiente", "confirmed": "confirmado", "cancelled": "cancelado"}
        snap = ServiceSnapshot(
            service_id=f"svc-{self.u}-{sid}",
            number=f"ST-{self.u}{sid}",
            status=status[action],  # type: ignore[arg-type]
            channel="whatsapp",
            reason="Sin conexión",
            created_by=self.sup,
            created_at=self.at(created),
            updated_at=self.at(when),
            version={"created": 1}.get(action, 2),
            confirmed_at=self.at(when) if action == "confirmed" else None,
            cancelled_at=self.at(when) if action == "cancelled" else None,
        )
        event = TicketEvent(action=action, service=snap, occurred_at=self.at(when))  # type: ignore[arg-type]
        await self.platform.ctx.bus.publish(event)

    async def consultation(self, cid: str, action: str, created: str, when: str) -> None:
        snap = ConsultationSnapshot(
            consultation_id=f"cons-{self.u}-{cid}",
            status="abierta" if action == "created" else "respondida",
            name="María",
            subject="Factura",
            text="Consulta",
            created_at=self.at(created),
            updated_at=self.at(when),
            answered_at=self.at(when) if action == "answered" else None,
            version=1 if action == "created" else 2,
        )
        event = ConsultationEvent(action=action, consultation=snap, occurred_at=self.at(when))  # type: ignore[arg-type]
        await self.platform.ctx.bus.publish(event)

    async def play(self) -> None:
        """The day, as routing and tickets would publish it."""
        ana, beto, sup = self.ana, self.beto, self.sup
        person_note = "El cliente pidió hablar con una persona. Escribió: «quiero un humano»."
        # A (WhatsApp): Lara hands over at 09:01, assigned to Ana at 09:03, who answers at
        # 09:05 (first response 4 min) and closes at 09:20 (handled 17 min).
        await self.conv("A", "09:00", ["opened", "message_received"], "customer", "lara")
        await self.conv("A", "09:01", ["escalated"], "lara", None, note=person_note)
        await self.conv("A", "09:03", ["assigned"], sup, ana)
        await self.conv("A", "09:05", ["message_sent"], ana, ana)
        await self.conv("A", "09:06", ["message_received"], "customer", ana)
        await self.conv("A", "09:20", ["closed"], ana, ana, status="cerrada")
        # B (WhatsApp): Lara alone; the system closes it.
        await self.conv("B", "10:00", ["opened", "message_received"], "customer", "lara")
        await self.conv("B", "10:02", ["closed"], "system", "lara", status="cerrada")
        # C (Messenger): handed over at 10:31 (audios); Beto takes it at 10:40, answers at
        # 10:41 (first response 10 min), is reminded at 10:45, returns it at 10:50; assigned
        # to Ana at 10:55, who writes (not a first response) and closes at 11:10 (handled
        # from 10:40: 30 min).
        ch = {"channel": "messenger"}
        await self.conv("C", "10:30", ["opened", "message_received"], "customer", "lara", **ch)
        audios = "El cliente envía audios sin texto. Escribió: «»."
        await self.conv("C", "10:31", ["escalated"], "lara", None, note=audios, **ch)
        await self.conv("C", "10:40", ["taken"], beto, beto, **ch)
        await self.conv("C", "10:41", ["message_sent"], beto, beto, **ch)
        await self.conv("C", "10:45", ["hold_reminder"], "system", beto, **ch)
        await self.conv("C", "10:50", ["returned"], beto, None, **ch)
        await self.conv("C", "10:55", ["assigned"], sup, ana, **ch)
        await self.conv("C", "10:56", ["message_sent"], ana, ana, **ch)
        await self.conv("C", "11:10", ["closed"], ana, ana, status="cerrada", **ch)
        # D (WhatsApp): handed over at 11:01, assigned to Ana at 11:02, she answers at 11:04
        # (first response 3 min) and escalates to staff at 11:05.
        await self.conv("D", "11:00", ["opened", "message_received"], "customer", "lara")
        await self.conv("D", "11:01", ["escalated"], "lara", None, note=person_note)
        await self.conv("D", "11:02", ["assigned"], sup, ana)
        await self.conv("D", "11:04", ["message_sent"], ana, ana)
        await self.conv("D", "11:05", ["escalated"], ana, None, note="Necesita un supervisor")
        # Services: S1 confirmed after 2 h 30 min, S2 cancelled, S3 confirmed after 30 min.
        await self.service("S1", "created", "12:00", "12:00")
        await self.service("S2", "created", "12:30", "12:30")
        await self.service("S3", "created", "13:00", "13:00")
        await self.service("S2", "cancelled", "12:30", "13:00")
        await self.service("S3", "confirmed", "13:00", "13:30")
        await self.service("S1", "confirmed", "12:00", "14:30")
        # Consultations: one answered after 20 min, one still open.
        await self.consultation("K1", "created", "15:00", "15:00")
        await self.consultation("K2", "created", "16:00", "16:00")
        await self.consultation("K1", "answered", "15:00", "15:20")

    def params(self, **extra: str) -> dict[str, str]:
        return {"desde": self.date.isoformat(), "hasta": self.date.isoformat(), **extra}


async def report(
    platform: Platform, name: str, params: dict[str, str], user: str = "sup", role: Any = "staff"
) -> dict[str, Any]:
    response = await platform.http.get(
        f"/api/reports/{name}", params=params, headers=platform.auth(user, role)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def settled(platform: Platform, day: Day) -> None:
    """Wait until the last events of each queue were counted (services: S1's confirmation;
    consultations: K1's answer; conversations: D's escalation by Ana)."""

    async def probe() -> bool:
        work = (await report(platform, "servicios", day.params()))["rows"][-1]
        people = (await report(platform, "personas", day.params()))["rows"]
        ana = [r for r in people if r["person"] == day.ana]
        return (
            work["services_confirmed"] == 2
            and work["consultations_answered"] == 1
            and bool(ana)
            and ana[0]["escalated"] == 1
            and ana[0]["closed"] == 2
        )

    await eventually(probe, timeout=30)


@pytest.fixture
async def day(platform: Platform) -> Day:
    played = Day(platform)
    await played.play()
    await settled(platform, played)
    return played


# ------------------------------------------------------------------- figures


def by_person(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["person"]: row for row in body["rows"]}


async def test_per_person_counts_and_response_times(platform: Platform, day: Day) -> None:
    rows = by_person(await report(platform, "personas", day.params()))
    assert set(rows) == {day.ana, day.beto}  # the supervisor only assigned: no row
    ana, beto = rows[day.ana], rows[day.beto]
    assert (ana["taken"], ana["closed"], ana["returned"], ana["escalated"]) == (3, 2, 0, 1)
    # First responses 4 min (A) and 3 min (D): nearest-rank median 180 s, p90 240 s.
    assert (ana["first_response_median"], ana["first_response_p90"]) == (180, 240)
    # Handled A 09:03→09:20 (1020 s), C from Beto's take 10:40→11:10 (1800 s).
    assert (ana["handle_median"], ana["handle_p90"]) == (1020, 1800)
    assert ana["hold_reminders"] == 0
    assert (beto["taken"], beto["closed"], beto["returned"], beto["escalated"]) == (1, 0, 1, 0)
    assert (beto["first_response_median"], beto["first_response_p90"]) == (600, 600)
    assert (beto["handle_median"], beto["hold_reminders"]) == (None, 1)

    messenger = by_person(await report(platform, "personas", day.params(canal="messenger")))
    assert (messenger[day.ana]["taken"], messenger[day.ana]["closed"]) == (1, 1)
    assert messenger[day.ana]["first_response_median"] is None
    assert messenger[day.ana]["handle_median"] == 1800


async def test_per_channel_per_day_and_the_weekday_hour_map(platform: Platform, day: Day) -> None:
    body = await report(platform, "canales", day.params())
    rows = {row["channel"]: row for row in body["rows"]}
    assert set(rows) == {"whatsapp", "messenger"}
    figures = ("inbound", "opened", "closed", "lara_resolved", "handovers")
    assert tuple(rows["whatsapp"][f] for f in figures) == (4, 3, 2, 1, 2)
    assert tuple(rows["messenger"][f] for f in figures) == (1, 1, 1, 0, 1)
    assert rows["whatsapp"]["canal"] == "WhatsApp"

    only = await report(platform, "canales", day.params(canal="messenger"))
    assert [row["channel"] for row in only["rows"]] == ["messenger"]

    heat = await report(platform, "horas", day.params())
    assert heat["chart"] == "heatmap"
    weekday = day.date.weekday()
    for d, row in enumerate(heat["rows"]):
        counts = {h: row[f"h{h}"] for h in range(24) if row[f"h{h}"]}
        assert counts == ({9: 1, 10: 2, 11: 1} if d == weekday else {})


async def test_lara_resolved_and_handovers_by_reason(platform: Platform, day: Day) -> None:
    body = await report(platform, "lara", day.params())
    assert body["summary"] == {"resolved": 1, "closed": 3, "handovers": 3}
    assert [(r["by"], r["reason"], r["count"]) for r in body["rows"]] == [
        ("Lara", "pidió hablar con una persona", 2),
        ("Lara", "envía audios sin texto", 1),
    ]


async def test_services_and_consultations(platform: Platform, day: Day) -> None:
    rows = (await report(platform, "servicios", day.params()))["rows"]
    [row, total] = rows
    assert row["day"] == day.date.isoformat() and total["day"] == "total"
    assert (row["services_created"], row["services_confirmed"], row["services_cancelled"]) == (
        3,
        2,
        1,
    )
    assert row["confirm_median"] == 1800  # 30 min and 2 h 30 min: nearest-rank median
    assert (row["consultations_created"], row["consultations_answered"]) == (2, 1)
    assert row["answer_median"] == 1200


async def test_a_redelivered_day_counts_nothing_twice(platform: Platform, day: Day) -> None:
    before = {
        name: await report(platform, name, day.params())
        for name in ("personas", "canales", "lara", "horas")
    }
    for event in day.sent:
        await platform.ctx.bus.publish(event)
    # Something new after the copies, in the same queue: once it is counted, so are they.
    await day.conv("E", "18:00", ["opened", "message_received"], "customer", "lara")

    async def sentinel() -> bool:
        rows = (await report(platform, "canales", day.params()))["rows"]
        return any(r["channel"] == "whatsapp" and r["opened"] == 4 for r in rows)

    await eventually(sentinel, timeout=30)
    assert await report(platform, "personas", day.params()) == before["personas"]
    assert await report(platform, "lara", day.params()) == before["lara"]
    whatsapp = next(
        r
        for r in (await report(platform, "canales", day.params()))["rows"]
        if r["channel"] == "whatsapp"
    )
    assert (whatsapp["inbound"], whatsapp["opened"], whatsapp["closed"]) == (5, 4, 2)


async def test_an_agent_reads_only_their_own_row(platform: Platform, day: Day) -> None:
    user = day.ana.split(":", 1)[1]
    mine = await report(platform, "personas", day.params(), user=user, role="agent")
    assert [row["person"] for row in mine["rows"]] == [day.ana]
    refused = await platform.http.get(
        "/api/reports/canales", params=day.params(), headers=platform.auth(user, "agent")
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_not_allowed"


@pytest.mark.parametrize(
    "params",
    [
        {"desde": "2024-13-01"},
        {"hasta": "ayer"},
        {"desde": "2024-03-10", "hasta": "2024-03-01"},
        {"desde": "2020-01-01", "hasta": "2024-01-01"},
        {"canal": "fax"},
    ],
)
async def test_bad_filters_answer_422_in_the_one_error_shape(
    platform: Platform, params: dict[str, str]
) -> None:
    response = await platform.http.get(
        "/api/reports/personas", params=params, headers=platform.auth("sup", "staff")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "bad_filter"


async def test_copy_and_print_show_the_table(platform: Platform, day: Day) -> None:
    headers = platform.auth("sup", "staff")
    copy = await platform.http.get(
        "/api/reports/servicios/copy", params=day.params(), headers=headers
    )
    assert copy.status_code == 200
    lines = copy.text.splitlines()
    assert lines[0].split("\t")[:4] == [
        "DÍA",
        "SERVICIOS CREADOS",
        "CONFIRMADOS",
        "CANCELADOS",
    ]
    assert lines[1].split("\t")[:5] == [day.date.strftime("%d/%m/%Y"), "3", "2", "1", "30:00"]
    assert lines[2].split("\t")[:2] == ["Total", "3"]
    printed = await platform.http.get(
        "/api/reports/servicios/print", params=day.params(), headers=headers
    )
    assert printed.status_code == 200
    assert printed.content.startswith(b"%PDF")
    first_page = PdfReader(io.BytesIO(printed.content)).pages[0].extract_text()
    assert "Creados" in first_page and "Cancelados" in first_page  # the chart's legend
    assert "SERVICIOS CREADOS" in first_page  # and the table
    unknown = await platform.http.get("/api/reports/nada", headers=headers)
    assert unknown.status_code == 404


async def test_satisfaction_and_first_responses_out_of_target_per_channel(
    platform: Platform,
) -> None:
    """Two closed WhatsApp chats answered the survey (4 and 5: 4,5 on average), one missed
    its first-response target; a Messenger chat answered 2. Nothing else that day."""
    day = Day(platform)
    for conv, score in (("S1", 4), ("S2", 5)):
        await day.conv(conv, "12:00", ["opened", "message_received"], "customer", "lara")
        await day.conv(conv, "12:10", ["closed"], day.ana, day.ana, status="cerrada")
        await day.conv(
            conv, "12:15", ["status_changed"], "customer", day.ana, status="cerrada",
            change="satisfaction_answered", satisfaction=score,
        )  # fmt: skip
    await day.conv("S3", "13:00", ["opened", "message_received"], "customer", "lara")
    await day.conv(
        "S3", "13:06", ["status_changed"], "system", None, change="first_response_missed"
    )
    await day.conv(
        "S4", "14:00", ["opened", "message_received"], "customer", "lara", channel="messenger"
    )
    await day.conv(
        "S4", "14:30", ["status_changed"], "customer", None, channel="messenger",
        status="cerrada", change="satisfaction_answered", satisfaction=2,
    )  # fmt: skip

    async def counted() -> dict[str, dict[str, Any]] | None:
        rows = {r["channel"]: r for r in (await report(platform, "canales", day.params()))["rows"]}
        done = rows.get("messenger", {}).get("csat_answers") == 1
        return rows if done and rows.get("whatsapp", {}).get("first_response_missed") else None

    rows = await eventually(counted, timeout=30)
    whatsapp, messenger = rows["whatsapp"], rows["messenger"]
    assert (whatsapp["csat_answers"], whatsapp["csat_average"]) == (2, "4,5")
    assert whatsapp["first_response_missed"] == 1
    assert (messenger["csat_answers"], messenger["csat_average"]) == (1, "2,0")
    assert messenger["first_response_missed"] == 0


async def test_the_read_model_rebuilt_from_the_events_gives_the_same_figures(
    platform: Platform, day: Day
) -> None:
    """The day's conversation events replayed into an empty read model, in batches cut
    elsewhere than the consumer cut them, leave the same counters as the live one."""
    live = ReportsStore(platform.db("exports"))
    rebuilt = ReportsStore(platform.db(f"reports_rebuilt_{uid()}"))
    await rebuilt.ensure_indexes()
    tz = ZoneInfo(platform.settings.tz)
    events = day.sent
    for start in range(0, len(events), 4):
        await count_conversations(rebuilt, events[start : start + 4], tz)
    await count_conversations(rebuilt, events, tz)  # and a redelivery of all of it
    one_day = day.date.isoformat()

    def figures(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {d["_id"]: {k: v for k, v in d.items() if k != "_id"} for d in docs}

    for kind in ("hours", "people", "handovers"):  # what conversation events feed
        mine = figures(await rebuilt.read(kind, one_day, one_day))
        assert mine, kind
        assert mine == figures(await live.read(kind, one_day, one_day)), kind
