"""The words staff read (shared/words.py): one renderer per kind of code."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.words import (
    CALL_STATE_WORDS,
    call_state_word,
    channel_word,
    date_time_text,
    person_name,
    status_word,
    zone_word,
)

TZ = ZoneInfo("America/Argentina/Buenos_Aires")


@pytest.mark.parametrize(
    ("actor", "shown"),
    [
        ("staff:ana", "Ana"),
        ("agent:luis.perez", "Luis Perez (agente)"),
        ("central:oficina_norte", "Oficina Norte (central)"),
        ("lara", "Lara"),
        ("system:ivr", "Bot de llamadas"),
        ("system:webchat-bot", "Bot web"),
        (None, "En cola"),
    ],
)
def test_people_and_bots_are_named_in_words(actor: str | None, shown: str) -> None:
    assert person_name(actor) == shown


def test_a_users_directory_names_people_when_it_knows_them() -> None:
    directory = {"ana": "Ana María Gómez", "agent:luis": "Luis Pérez"}
    assert person_name("staff:ana", directory) == "Ana María Gómez"
    assert person_name("agent:luis", directory) == "Luis Pérez (agente)"
    assert person_name("staff:beto", directory) == "Beto"  # unknown: still readable
    assert person_name("system:ivr", directory) == "Bot de llamadas"


def test_codes_become_spanish_words_never_codes_or_english() -> None:
    assert status_word("genero_servicio_tecnico") == "GENERÓ SERVICIO TÉCNICO"
    assert [channel_word(c) for c in ("whatsapp", "messenger", "webchat", "ivr")] == [
        "WhatsApp",
        "Facebook",
        "Web",
        "Teléfono",
    ]
    assert call_state_word("completed") == "Completada"
    assert call_state_word(None) == "Sin estado"
    assert not set(CALL_STATE_WORDS.values()) & set(CALL_STATE_WORDS)


def test_times_are_day_first_in_the_business_time_zone() -> None:
    moment = datetime(2025, 1, 1, 2, 30, tzinfo=UTC)
    assert date_time_text(moment, TZ) == "31/12/2024 23:30"
    assert zone_word("America/Argentina/Buenos_Aires") == "hora de Buenos Aires"
