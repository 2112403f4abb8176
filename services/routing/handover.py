"""When Lara hands a customer over: office hours and what the customer is told (pure).

Office hours are a setting (`OFFICE_HOURS`, in the platform's time zone `TZ`), written as
staff say them: ``"lun-vie 08:00-22:00; sab-dom 09:00-18:00"``. A day without a range is
closed. Inside office hours the customer is told a person will answer here; outside them,
also when: "hoy a partir de las 9:00", "mañana a partir de las 8:00", "el lunes a partir
de las 8:00". The clock is injected, so the message is testable at any hour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
DEFAULT_OFFICE_HOURS = "lun-vie 08:00-22:00; sab-dom 09:00-18:00"

HANDOVER = "Te comunico con una persona de nuestro equipo, que te va a responder por este chat."

_RULE = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$"
)


class InvalidOfficeHours(ValueError):
    """The OFFICE_HOURS setting cannot be read; raised at start-up, never per message."""


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59, 59)
    return time(hours, minutes)


@dataclass(frozen=True)
class OfficeHours:
    """Opening and closing time per weekday (Monday = 0); `None` when closed all day."""

    days: tuple[tuple[time, time] | None, ...]
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, tz: str) -> OfficeHours:
        days: list[tuple[time, time] | None] = [None] * 7
        for rule in filter(None, (r.strip() for r in spec.lower().split(";"))):
            match = _RULE.match(rule)
            if not match or match["first"] not in DAYS or (match["last"] or "lun") not in DAYS:
                raise InvalidOfficeHours(f"no entiendo el horario {rule!r}")
            first = DAYS.index(match["first"])
            last = DAYS.index(match["last"]) if match["last"] else first
            opening, closing = _clock(match["open"]), _clock(match["close"])
            if closing <= opening:
                raise InvalidOfficeHours(f"el horario {rule!r} cierra antes de abrir")
            day = first
            while True:
                days[day] = (opening, closing)
                if day == last:
                    break
                day = (day + 1) % 7
        return cls(tuple(days), ZoneInfo(tz))

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        hours = self.days[local.weekday()]
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the office opens after `now` (None when it never opens)."""
        local = now.astimezone(self.tz)
        for ahead in range(8):
            day: date = local.date() + timedelta(days=ahead)
            hours = self.days[day.weekday()]
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=self.tz)
            if opening > local:
                return opening
        return None

    def when_we_answer(self, now: datetime) -> str | None:
        """None inside office hours; otherwise when a person will answer, in Spanish."""
        if self.is_open(now):
            return None
        opening = self.next_opening(now)
        if opening is None:
            return "apenas vuelva a abrir la oficina"
        local = now.astimezone(self.tz)
        at = f"a partir de las {opening.hour}:{opening.minute:02d}"
        days_ahead = (opening.date() - local.date()).days
        if days_ahead == 0:
            return f"hoy {at}"
        if days_ahead == 1:
            return f"mañana {at}"
        return f"el {DAY_NAMES[opening.weekday()]} {at}"


def handover_messages(office: OfficeHours | None, now: datetime) -> list[str]:
    """What the customer reads when Lara hands them over."""
    when = office.when_we_answer(now) if office else None
    if when is None:
        return [HANDOVER]
    return [
        f"{HANDOVER} Ahora estamos fuera del horario de atención: te responden {when}. "
        "Dejá escrito todo lo que necesites y lo van a leer primero."
    ]


def system_clock() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
