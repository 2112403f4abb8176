"""Pure rules of customer satisfaction and first-response targets: what reads as a score,
which settings are accepted, and how a conversation stands against its target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.routing.first_response import PENDING, ResponseTargets, state
from services.routing.satisfaction import score_of
from services.routing.timeline import Draft, new_conversation
from shared.contracts import Identity
from tests.settings import isolated_settings

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("4", 4),
        (" 5 ", 5),
        ("1.", 1),
        ("5 estrellas", 5),
        ("1 estrella", 1),
        ("Cinco", 5),
        ("un 3", 3),
        ("le doy un 5!", 5),
        ("4/5", 4),
        ("3 de 5", 3),
        ("⭐⭐⭐⭐", 4),
        ("⭐️⭐️⭐️", 3),
        ("★★", 2),
    ],
)
def test_a_score_from_1_to_5_answers(text: str, score: int) -> None:
    assert score_of(text) == score


@pytest.mark.parametrize(
    "text",
    ["hola", "0", "6", "10", "45", "4 cosas más", "⭐⭐⭐⭐⭐⭐", "", None, "mi número es 4"],
)
def test_anything_else_is_not_an_answer(text: str | None) -> None:
    assert score_of(text) is None


def test_settings_accept_reply_channels_and_refuse_read_only_or_unknown_ones() -> None:
    settings = isolated_settings(
        csat_channels=" WhatsApp ,messenger", first_response_target_seconds="whatsapp=90"
    )
    assert settings.csat_channel_set == {"whatsapp", "messenger"}
    assert settings.first_response_targets == {"whatsapp": 90.0}
    assert isolated_settings(csat_channels="").csat_channel_set == frozenset()
    for bad in ("webchat", "ivr", "sms"):
        with pytest.raises(ValidationError, match="CSAT_CHANNELS"):
            isolated_settings(csat_channels=bad)
    for bad in ("whatsapp", "whatsapp=0", "whatsapp=-5", "whatsapp=x", "webchat=120", "a=1"):
        with pytest.raises(ValidationError, match="FIRST_RESPONSE_TARGET_SECONDS"):
            isolated_settings(first_response_target_seconds=bad)


def _draft(holder: str = "lara") -> Draft:
    doc = new_conversation(
        "c1", "whatsapp", Identity(channel="whatsapp", external_id="+5491100000000"), "m1", T0
    )
    draft = Draft.of({**doc, "holder": holder})
    return draft


def test_the_clock_starts_once_when_people_get_the_conversation() -> None:
    targets = ResponseTargets({"whatsapp": 100.0})
    lara = _draft("lara")
    targets.reached_people(lara, T0)
    assert "first_response" not in lara.doc
    draft = _draft("staff:ana")
    targets.reached_people(draft, T0)
    assert draft.doc["first_response"]["due_at"] == T0 + timedelta(seconds=100)
    targets.reached_people(draft, T0 + timedelta(seconds=50))  # reassigned later: same clock
    assert draft.doc[PENDING] == T0 + timedelta(seconds=100)
    assert state(draft.doc, T0 + timedelta(seconds=10)) == "en_plazo"
    assert state(draft.doc, T0 + timedelta(seconds=85)) == "por_vencer"
    assert state(draft.doc, T0 + timedelta(seconds=100)) == "vencida"


def test_a_late_first_reply_records_the_miss_once_and_a_timely_one_none() -> None:
    targets = ResponseTargets({"whatsapp": 100.0})
    late = _draft("staff:ana")
    targets.reached_people(late, T0)
    targets.answered(late, T0 + timedelta(seconds=101))
    assert late.doc["first_response"]["missed"] is True
    assert PENDING in late.unset and PENDING not in late.doc
    assert [r.change for r in late.recorded] == ["first_response_missed"]
    targets.closed(late, T0 + timedelta(seconds=200))  # settled: nothing more
    assert len(late.recorded) == 1
    assert state(late.doc, T0 + timedelta(seconds=300)) is None

    timely = _draft("agent:luis")
    targets.reached_people(timely, T0)
    targets.answered(timely, T0 + timedelta(seconds=99))
    assert timely.doc["first_response"]["missed"] is False
    assert not timely.recorded


def test_closing_an_overdue_unanswered_conversation_is_a_miss() -> None:
    targets = ResponseTargets({"whatsapp": 100.0})
    draft = _draft(None)  # type: ignore[arg-type]
    draft.doc["queue"] = "agentes"
    targets.reached_people(draft, T0)
    targets.closed(draft, T0 + timedelta(seconds=150))
    assert [r.change for r in draft.recorded] == ["first_response_missed"]
