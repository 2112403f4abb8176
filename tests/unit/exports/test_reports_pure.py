"""The reports' pure rules (issue 27): percentiles, handover reasons, what an event adds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.exports.report_printing import Chart, nice_max, render_report_pdf
from services.exports.report_rows import hour_matrix, people_rows, percentile
from services.exports.reports import (
    Facts,
    Tally,
    conversation_tally,
    facts_change,
    handover_reasons,
)
from services.exports.reports_api import seconds_text
from tests.unit.exports.factories import chat_event

TZ = ZoneInfo("America/Argentina/Buenos_Aires")


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([40, 10, 30, 20], 50) == 20
    assert percentile([40, 10, 30, 20], 90) == 40
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile([7], 50) == 7
    assert percentile([], 50) is None


def test_handover_reason_is_the_first_sentence_of_the_note_or_the_change() -> None:
    event = chat_event(action="escalated")
    event.note = "El cliente pidió hablar con una persona; ya probó el reinicio. Escribió: «x»."
    assert handover_reasons(event) == ["pidió hablar con una persona", "ya probó el reinicio"]
    event.change = "horario"
    assert handover_reasons(event) == ["horario"]
    event.change, event.note = None, None
    assert handover_reasons(event) == ["sin motivo"]


def test_a_conversation_closed_with_no_person_is_lara_resolved_and_local_hours_count() -> None:
    event = chat_event(action="closed", status="cerrada", holder="lara")
    event.actor = "system"
    event.occurred_at = datetime(2030, 5, 6, 2, 30, tzinfo=UTC)  # 23:30 the day before in TZ
    tally = Tally()
    conversation_tally(event, Facts(), TZ, tally)
    [(slot, counts)] = tally.counts.items()
    assert slot.fields() == {"day": "2030-05-05", "hour": 23, "channel": "whatsapp", "weekday": 6}
    assert counts == {"closed": 1, "lara_resolved": 1}

    person_took_part = Tally()
    conversation_tally(event, Facts(persons=("agent:ana",)), TZ, person_took_part)
    assert next(iter(person_took_part.counts.values())) == {"closed": 1}


def test_first_response_counts_from_the_wait_and_only_once() -> None:
    waiting = datetime(2030, 5, 6, 15, 0, tzinfo=UTC)
    event = chat_event(action="message_sent", holder="staff:beto")
    event.actor = "staff:beto"
    event.occurred_at = waiting + timedelta(seconds=95)
    tally = Tally()
    conversation_tally(event, Facts(waiting_since=waiting), TZ, tally)
    assert list(tally.samples.values()) == [{"first_response": [95]}]
    again = Tally()
    conversation_tally(event, Facts(waiting_since=waiting, first_reply_at=waiting), TZ, again)
    assert not again


def test_people_rows_sum_days_and_pool_samples() -> None:
    docs = [
        {"person": "agent:a", "day": "d1", "taken": 2, "first_response": [30, 10]},
        {"person": "agent:a", "day": "d2", "closed": 1, "first_response": [20], "handle": [600]},
    ]
    [row] = people_rows(docs)
    assert (row["taken"], row["closed"], row["first_response_median"]) == (2, 1, 20)
    assert (row["handle_median"], row["handle_p90"]) == (600, 600)


def test_hour_matrix_is_monday_first() -> None:
    matrix = hour_matrix([{"weekday": 0, "hour": 9, "opened": 2}, {"weekday": 6, "hour": 23}])
    assert matrix[0][9] == 2 and sum(map(sum, matrix)) == 2


def test_durations_read_as_staff_write_them() -> None:
    assert [seconds_text(v) for v in (None, 0, 75, 3725)] == ["—", "0:00", "1:15", "1:02:05"]


def test_axis_tops_are_four_whole_steps() -> None:
    assert [nice_max(v) for v in (0, 2, 3, 5, 70_350)] == [4, 4, 4, 8, 80_000]


def test_a_report_pdf_opens_with_its_chart() -> None:
    hours = [f"{h:02d}" for h in range(24)]
    chart = Chart("heatmap", ["lunes"], matrix=[[1.0] * 24], columns=hours)
    pdf, pages = render_report_pdf("Horas", ["Del 01/01/2030"], ["DÍA"], [["lunes"]], chart)
    assert pdf.startswith(b"%PDF") and pages == 1


def test_facts_keep_the_earliest_moments_and_every_person_in_any_order() -> None:
    early = chat_event(action="escalated", holder=None)
    early.occurred_at = datetime(2030, 5, 6, 15, 0, tzinfo=UTC)
    late = chat_event(action="taken", holder="staff:beto")
    late.actor = "staff:beto"
    late.occurred_at = early.occurred_at + timedelta(minutes=5)
    one = Facts().after(facts_change(early)).after(facts_change(late))
    other = Facts().after(facts_change(late)).after(facts_change(early))
    assert one == other
    assert one.waiting_since == early.occurred_at and one.person_since == late.occurred_at
    assert one.persons == ("staff:beto",)
