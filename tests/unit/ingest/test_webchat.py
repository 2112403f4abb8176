"""The web chatbot's JSON: validated with clear messages, transcript and contact kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest import webchat
from services.ingest.errors import InvalidPayload
from shared.contracts.inbound import InboundMessage
from tests.unit.ingest.payloads import webchat as webchat_body

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_message_is_keyed_by_session_and_client_message_id_with_contact_and_transcript() -> None:
    body = webchat_body(session_id="s-1", message_id="m-1", sent_at=1700000000000)
    [event] = webchat.normalize(body, NOW).events
    assert isinstance(event, InboundMessage)
    assert event.event_id == "wc:s-1:m-1"
    assert event.identity.key == "webchat:s-1"
    assert event.contact.name == "Juan Pérez"
    assert event.contact.phone == "+5491155550000"
    assert event.contact.document_number == "30123456"
    assert next((t.author, t.text) for t in event.transcript) == (
        "bot",
        "Hola, soy Lara. ¿En qué te ayudo?",
    )
    assert event.occurred_at == datetime.fromtimestamp(1700000000, tz=UTC)


def test_minimal_message_needs_only_session_message_id_and_text() -> None:
    [event] = webchat.normalize({"session_id": "s", "message_id": "m", "text": "hola"}, NOW).events
    assert event.occurred_at == NOW
    assert event.contact.name is None and event.transcript == []


def test_unparseable_phone_is_dropped_not_stored_wrong() -> None:
    [event] = webchat.normalize(webchat_body(phone="llamame"), NOW).events
    assert event.contact.phone is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 5000}, "text"),
        ({"session_id": None}, "session_id"),
        ({"message_id": "has spaces"}, "message_id"),
        ({"transcript": [{"author": "agent", "text": "x"}]}, "transcript.0.author"),
        ({"transcript": "hola"}, "transcript"),
    ],
)
def test_invalid_fields_are_named_in_the_error(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPayload, match=field):
        webchat.normalize(webchat_body(**change), NOW)


def test_missing_fields_are_reported_together() -> None:
    with pytest.raises(InvalidPayload) as info:
        webchat.normalize({}, NOW)
    assert "session_id" in str(info.value) and "text" in str(info.value)


def test_non_object_is_a_schema_error() -> None:
    with pytest.raises(InvalidPayload):
        webchat.normalize(["hola"], NOW)
