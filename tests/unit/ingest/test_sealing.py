"""Ingest seals credentials before anything is published: every event that leaves `decode`
carries masked text, with the original only sealed under SECRETS_KEY."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from services.ingest.handlers import decode
from services.ingest.sealing import seal_event
from shared.contracts.inbound import CallEvent, InboundMessage
from shared.secrets import MASK, SecretBox
from tests.settings import isolated_settings
from tests.support import meta_body, meta_signature, twilio_signature
from tests.unit.ingest.payloads import fb_text, twilio_call, wa_message, wa_text, webchat

SETTINGS = isolated_settings(secrets_key="unit-sealing-key")
BOX = SecretBox(SETTINGS.secrets_key)
PASSWORD = "Rio2024!"
TYPED = f"El usuario es vsanchez y la contraseña es: {PASSWORD}"


def _meta(channel: str, secret: str, payload: dict[str, Any]) -> InboundMessage:
    raw = meta_body(payload)
    headers = {"X-Hub-Signature-256": meta_signature(secret, raw)}
    [event] = decode(SETTINGS, channel, raw, headers).events  # type: ignore[arg-type]
    assert isinstance(event, InboundMessage)
    return event


def _nowhere_in_clear(event: InboundMessage | CallEvent, secret: str = PASSWORD) -> None:
    assert secret not in event.model_dump_json()


def test_whatsapp_text_is_masked_and_the_original_travels_sealed() -> None:
    event = _meta("whatsapp", SETTINGS.whatsapp_app_secret, wa_text(TYPED))
    assert event.text == f"El usuario es vsanchez y la contraseña es: {MASK}"
    assert event.sealed_text is not None
    assert BOX.open(event.sealed_text) == TYPED
    assert event.opened(BOX).text == TYPED
    _nowhere_in_clear(event)


def test_a_text_without_credentials_is_left_alone_with_nothing_sealed() -> None:
    event = _meta("whatsapp", SETTINGS.whatsapp_app_secret, wa_text("mi clave no funciona"))
    assert (event.text, event.sealed_text, event.sealed_raw) == ("mi clave no funciona", None, None)


def test_messenger_text_is_sealed() -> None:
    event = _meta("messenger", SETTINGS.messenger_app_secret, fb_text("pin: 4821"))
    assert event.text == f"pin: {MASK}"
    assert event.opened(BOX).text == "pin: 4821"
    _nowhere_in_clear(event, "4821")


def test_captions_and_the_raw_item_of_an_edit_are_masked_and_sealed() -> None:
    caption = only(
        wa_message(
            "5491155550000",
            {"type": "image", "image": {"id": "9", "caption": f"la clave es {PASSWORD}"}},
        )
    )
    [attachment] = caption.attachments
    assert attachment.caption == f"la clave es {MASK}"
    assert attachment.sealed_caption and BOX.open(attachment.sealed_caption).endswith(PASSWORD)
    assert caption.opened(BOX).attachments[0].caption == f"la clave es {PASSWORD}"
    _nowhere_in_clear(caption)
    edit = only(
        wa_message(
            "5491155550000",
            {
                "type": "edit",
                "edit": {
                    "original_message_id": "wamid.O",
                    "message": {"type": "text", "text": {"body": TYPED}},
                },
            },
        )
    )
    _nowhere_in_clear(edit)
    assert edit.sealed_raw is not None
    assert PASSWORD in json.dumps(edit.opened(BOX).raw)


def only(payload: dict[str, Any]) -> InboundMessage:
    return _meta("whatsapp", SETTINGS.whatsapp_app_secret, payload)


def test_webchat_text_and_transcript_lines_are_sealed_line_by_line() -> None:
    body = webchat(
        "ya te la pasé arriba",
        transcript=[
            {"author": "bot", "text": "Hola, soy Lara. ¿En qué te ayudo?"},
            {"author": "customer", "text": f"mi contraseña es {PASSWORD}"},
        ],
    )
    raw = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {SETTINGS.webchat_token}"}
    [event] = decode(SETTINGS, "webchat", raw, headers).events
    assert isinstance(event, InboundMessage)
    bot, customer = event.transcript
    assert (bot.text, bot.sealed_text) == ("Hola, soy Lara. ¿En qué te ayudo?", None)
    assert customer.text == f"mi contraseña es {MASK}"
    assert customer.sealed_text is not None
    assert event.opened(BOX).transcript[1].text == f"mi contraseña es {PASSWORD}"
    _nowhere_in_clear(event)


def test_a_credential_typed_as_the_web_chat_name_is_masked() -> None:
    body = webchat("hola", name="clave: Jacaranda77")
    raw = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {SETTINGS.webchat_token}"}
    [event] = decode(SETTINGS, "webchat", raw, headers).events
    assert isinstance(event, InboundMessage)
    assert event.contact.name == f"clave: {MASK}"
    _nowhere_in_clear(event, "Jacaranda77")
    ordinary = decode(SETTINGS, "webchat", json.dumps(webchat("hola")).encode(), headers).events
    assert isinstance(ordinary[0], InboundMessage)
    assert ordinary[0].contact.name == "Juan Pérez"


def test_ivr_speech_is_sealed() -> None:
    url = "http://testserver/webhooks/ivr?step=gather&menu=main"
    params = twilio_call(SpeechResult="mi clave es 4455", CallStatus="in-progress")
    raw = urlencode(params).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, params),
    }
    [event] = decode(SETTINGS, "ivr", raw, headers, url).events
    assert isinstance(event, CallEvent)
    assert event.speech == f"mi clave es {MASK}"
    assert event.opened(BOX).speech == "mi clave es 4455"


def test_sealing_twice_keeps_the_first_sealed_original() -> None:
    event = only(wa_text(TYPED))
    again = seal_event(event, BOX)
    assert isinstance(again, InboundMessage)
    assert again.text == event.text
    assert again.sealed_text is not None and BOX.open(again.sealed_text) == TYPED


def test_an_event_published_before_sealing_existed_still_validates() -> None:
    old = {
        "event_id": "wa:1:wamid.old",
        "channel": "whatsapp",
        "identity": {"channel": "whatsapp", "external_id": "+5491155550000"},
        "external_message_id": "wamid.old",
        "message_type": "text",
        "text": "hola",
        "transcript": [{"author": "customer", "text": "hola"}],
    }
    event = InboundMessage.model_validate(old)
    assert event.sealed_text is None and event.opened(BOX).text == "hola"
