"""Pure parts of outbound delivery: Meta's answers classified, request bodies built,
backoff bounded, Retry-After read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.ingest.outbound import messenger, whatsapp
from services.ingest.outbound.graph import classify_error
from services.ingest.outbound.outcome import (
    Refused,
    Retryable,
    backoff_seconds,
    provider_wait,
    retry_after_seconds,
)
from shared.contracts.base import Identity
from shared.contracts.conversation import OutboundMessage, TemplateRef
from shared.contracts.inbound import Attachment

ERRORS = json.loads((Path(__file__).parents[2] / "fixtures" / "graph" / "errors.json").read_text())


def meta(code: str) -> tuple[int, dict[str, object]]:
    return ERRORS[code]["status"], {"error": ERRORS[code]["error"]}


@pytest.mark.parametrize("code", ["1", "4", "80007", "130429", "131057"])
def test_meta_throttling_and_transient_codes_are_retryable(code: str) -> None:
    assert isinstance(classify_error(*meta(code), None), Retryable)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("100", "invalid_parameter"),
        ("131026", "undeliverable"),
        ("131047", "window_closed"),
        ("2018278", "window_closed"),
        ("551", "recipient_unavailable"),
    ],
)
def test_meta_refusals_are_permanent_with_our_label_and_meta_s_words(
    code: str, reason: str
) -> None:
    outcome = classify_error(*meta(code), None)
    assert isinstance(outcome, Refused)
    assert outcome.reason == reason
    assert ERRORS[code]["error"]["message"] in outcome.detail


def test_an_expired_token_is_kept_for_retry_not_failed_message_by_message() -> None:
    outcome = classify_error(*meta("190"), None)
    assert isinstance(outcome, Retryable) and outcome.reason == "auth"


def test_bare_429_and_5xx_are_retryable_and_carry_retry_after() -> None:
    outcome = classify_error(429, None, "7")
    assert isinstance(outcome, Retryable) and outcome.retry_after == 7.0
    assert isinstance(classify_error(503, "<html>", None), Retryable)
    assert isinstance(classify_error(418, {}, None), Refused)


def test_the_pair_rate_limit_backs_off_four_to_the_retry_seconds() -> None:
    """131056 (one recipient, about a message every 6 s): Meta asks for 4^X seconds."""
    pair = Retryable("throttled", "(#131056) Pair rate limit hit", "131056")
    assert [provider_wait(pair, x) for x in range(4)] == [1.0, 4.0, 16.0, 64.0]
    assert backoff_seconds(2, 0.5, 30.0, provider_wait(pair, 2)) >= 16.0
    other = Retryable("throttled", "(#130429) Rate limit hit", "130429", 2.0)
    assert provider_wait(other, 3) == 2.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_grows_is_capped_and_never_undercuts_retry_after() -> None:
    for attempt in range(10):
        assert 0 <= backoff_seconds(attempt, 0.5, 8.0) <= 8.0
    assert backoff_seconds(0, 0.5, 8.0, retry_after=20.0) == 20.0


def outbound(**changes: object) -> OutboundMessage:
    base = OutboundMessage(
        conversation_id="c1",
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id="+5491155550000"),
        author="lara",
        text="Hola",
    )
    return base.model_copy(update=changes)


def test_whatsapp_text_goes_to_the_number_without_plus() -> None:
    [body] = whatsapp.parts(outbound(), None)
    assert body["to"] == "5491155550000"
    assert body["text"] == {"preview_url": False, "body": "Hola"}


def test_whatsapp_template_replaces_text_and_media() -> None:
    template = TemplateRef(name="aviso", language="es_AR", parameters=["Hola"])
    media = [Attachment(kind="image", url="https://x.example/a.jpg")]
    [body] = whatsapp.parts(outbound(media=media), template)
    assert body["type"] == "template"
    assert body["template"]["language"] == {"code": "es_AR"}


def test_a_template_parameter_is_one_line_without_tabs_or_long_runs_of_spaces() -> None:
    text = "Hola Ana:\n\n\tYa reparamos su conexión.      Gracias\r\nSaludos"
    assert whatsapp.template_parameter(text) == (
        "Hola Ana: / Ya reparamos su conexión. Gracias / Saludos"
    )
    long = whatsapp.template_parameter("palabra " * 400)
    assert len(long) == whatsapp.TEMPLATE_PARAMETER_MAX_CHARS and long.endswith("…")


def test_whatsapp_audio_cannot_carry_a_caption_so_the_text_goes_first() -> None:
    media = [Attachment(kind="audio", url="https://x.example/a.ogg")]
    text, audio = whatsapp.parts(outbound(media=media), None)
    assert text["type"] == "text"
    assert audio == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5491155550000",
        "type": "audio",
        "audio": {"link": "https://x.example/a.ogg"},
    }


def test_messenger_sends_text_then_attachments_with_the_same_messaging_type() -> None:
    message = outbound(
        channel="messenger",
        identity=Identity(channel="messenger", external_id="2411"),
        media=[Attachment(kind="document", url="https://x.example/f.pdf")],
    )
    text, attachment = messenger.parts(message, human_agent=True)
    assert text["messaging_type"] == attachment["messaging_type"] == "MESSAGE_TAG"
    assert attachment["message"]["attachment"]["type"] == "file"


def test_an_old_publisher_s_outbound_message_still_decodes() -> None:
    """Fields added for delivery are optional: routing's current events stay valid."""
    old = {
        "event_id": "m1",
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "conversation_id": "c1",
        "channel": "whatsapp",
        "identity": {"channel": "whatsapp", "external_id": "+5491155550000"},
        "author": "lara",
        "text": "Hola",
    }
    message = OutboundMessage.model_validate(old)
    assert message.customer_last_inbound_at is None and message.media == []
