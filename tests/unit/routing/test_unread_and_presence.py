"""Unread counts, when "seen" is recorded, and presence: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing import domain
from services.routing.domain import Actor
from services.routing.presence import status_of

AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_unread_is_what_the_customer_wrote_after_this_person_last_saw_it() -> None:
    marks = domain.mark_seen([], "agent:luis", 3, AT)
    assert domain.unread(5, marks, "agent:luis") == 2
    assert domain.unread(5, marks, "staff:ana") == 5  # never saw it
    assert domain.unread(3, marks, "agent:luis") == 0


def test_a_new_mark_replaces_the_persons_old_one_and_keeps_the_others() -> None:
    marks = domain.mark_seen([], "agent:luis", 1, AT)
    marks = domain.mark_seen(marks, "staff:ana", 2, AT)
    marks = domain.mark_seen(marks, "agent:luis", 4, AT + timedelta(minutes=1))
    assert sorted((m["user"], m["customer_messages"]) for m in marks) == [
        ("agent:luis", 4),
        ("staff:ana", 2),
    ]


def test_seen_is_recorded_only_when_the_customer_wrote_since_the_persons_mark() -> None:
    marks = domain.mark_seen([], "staff:ana", 2, AT)
    assert domain.see(Actor("staff:ana"), 2, marks) is False
    assert domain.see(Actor("staff:ana"), 3, marks) is True
    assert domain.see(Actor("agent:luis"), 2, marks) is True  # agents see too: it is reading
    assert domain.see(Actor("staff:beto"), 0, []) is False  # nothing from the customer yet


def test_the_central_office_does_not_mark_seen() -> None:
    with pytest.raises(domain.NotAllowed):
        domain.see(Actor("central:oficina"), 1, [])


def test_presence_is_en_linea_while_the_last_beat_is_younger_than_the_timeout() -> None:
    assert status_of(AT, AT + timedelta(seconds=59), 60) == "en_linea"
    assert status_of(AT, AT + timedelta(seconds=60), 60) == "ausente"
