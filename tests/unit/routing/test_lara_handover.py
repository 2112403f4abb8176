"""What a handed-over customer is told, inside and outside office hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.routing.bot import build_bot
from services.routing.handover import HANDOVER, InvalidOfficeHours, OfficeHours
from services.routing.lara import RuleBasedLara

TZ = "America/Argentina/Buenos_Aires"  # UTC-3, no daylight saving
HOURS = "lun-vie 08:00-22:00; sab 09:00-13:00"


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def handover_at(now: datetime) -> str:
    lara = build_bot("rules", "Bienvenido", office_hours=HOURS, tz=TZ, clock=lambda: now)
    reply = lara.reply([], "quiero hablar con una persona")
    assert reply.escalate
    assert len(reply.messages) == 1
    return reply.messages[0]


def test_inside_office_hours_the_customer_is_told_a_person_answers_here() -> None:
    # Tuesday 2026-12-01 15:00 UTC = 12:00 in Buenos Aires.
    assert handover_at(at("2026-12-01T15:00:00")) == HANDOVER


@pytest.mark.parametrize(
    ("utc", "when"),
    [
        ("2026-12-01T09:30:00", "hoy a partir de las 8:00"),  # Tue 06:30 local
        ("2026-12-02T02:00:00", "mañana a partir de las 8:00"),  # Tue 23:00 local
        ("2026-12-05T18:00:00", "el lunes a partir de las 8:00"),  # Sat 15:00 local
        ("2026-12-05T02:30:00", "mañana a partir de las 9:00"),  # Fri 23:30 local
    ],
)
def test_outside_office_hours_the_customer_is_told_when(utc: str, when: str) -> None:
    message = handover_at(at(utc))
    assert message.startswith(HANDOVER)
    assert f"te responden {when}" in message


def test_office_hours_are_read_as_staff_write_them() -> None:
    office = OfficeHours.parse("lun-vie 08:00-22:00; sab-dom 09:00-18:00", TZ)
    assert office.days[0] is not None and office.days[6] is not None
    assert office.is_open(at("2026-12-06T13:00:00"))  # Sunday 10:00 local
    assert not office.is_open(at("2026-12-06T22:00:00"))  # Sunday 19:00 local


@pytest.mark.parametrize("spec", ["lunes a viernes", "lun-vie 22:00-08:00", "xyz 08:00-09:00"])
def test_unreadable_office_hours_fail_at_start_up(spec: str) -> None:
    with pytest.raises(InvalidOfficeHours):
        OfficeHours.parse(spec, TZ)


def test_without_office_hours_lara_only_says_a_person_will_answer() -> None:
    lara = RuleBasedLara(welcome="Bienvenido")
    assert lara.reply([], "4").messages == [HANDOVER]
