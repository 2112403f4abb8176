"""The date filters are whole local days even on the days a zone with daylight saving time
skips or repeats an hour (Madrid: 2024-03-31 has 23 hours, 2024-10-27 has 25).

The platform's default zone (Buenos Aires) has no daylight saving time, so only a test in
another zone can catch a filter that adds 24 hours in UTC instead of taking local midnights.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.exports.store import mongo_filter
from services.exports.tables import TABLES, make_filter, row_query
from services.tickets import domain

MADRID = "Europe/Madrid"
NEW_YORK = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# day, zone, first instant of the day, first instant of the next day (UTC)
DAYS = [
    ("2024-03-31", MADRID, "2024-03-30T23:00", "2024-03-31T22:00"),  # 23 hours
    ("2024-10-27", MADRID, "2024-10-26T22:00", "2024-10-27T23:00"),  # 25 hours
    ("2024-03-10", NEW_YORK, "2024-03-10T05:00", "2024-03-11T04:00"),  # 23 hours
    ("2024-11-03", NEW_YORK, "2024-11-03T04:00", "2024-11-04T05:00"),  # 25 hours
]


@pytest.mark.parametrize(("day", "zone", "start", "end"), DAYS)
def test_exports_date_filter_spans_the_local_day(day: str, zone: str, start: str, end: str):
    query = mongo_filter(
        row_query(TABLES["chats"], make_filter(None, day, day, "todos"), ZoneInfo(zone))
    )
    span = query["date"]
    assert span["$gte"].astimezone(UTC) == utc(start)
    assert span["$lt"].astimezone(UTC) == utc(end)


@pytest.mark.parametrize(("day", "zone", "start", "end"), DAYS)
def test_tickets_period_spans_the_local_day(day: str, zone: str, start: str, end: str):
    one = date.fromisoformat(day)
    p = domain.period(one, one, zone)
    assert (p.start, p.end) == (utc(start), utc(end))


def test_a_week_across_the_change_starts_and_ends_at_local_midnight():
    p = domain.period(date(2024, 3, 28), date(2024, 4, 3), MADRID)
    assert p.start == utc("2024-03-27T23:00")  # CET, UTC+1
    assert p.end == utc("2024-04-03T22:00")  # CEST, UTC+2
