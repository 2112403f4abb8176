"""The verify → parse → normalize path shared by HTTP and `ingest.raw` (no I/O)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import pytest

from services.ingest.errors import InvalidPayload, MalformedBody, PayloadTooLarge, SignatureInvalid
from services.ingest.handlers import decode, ivr_action_url, twilio_urls
from tests.settings import isolated_settings
from tests.support import meta_body, meta_signature, twilio_signature
from tests.unit.ingest.payloads import CHANNELS, fb_text, twilio_call, wa_text, webchat

SETTINGS = isolated_settings(max_webhook_bytes=10_000)


def test_signed_whatsapp_body_decodes() -> None:
    raw = meta_body(wa_text("Hola señor 😀"))
    batch = decode(
        SETTINGS,
        "whatsapp",
        raw,
        {"X-Hub-Signature-256": meta_signature(SETTINGS.whatsapp_app_secret, raw)},
    )
    assert len(batch.events) == 1


def test_messenger_body_signed_with_the_whatsapp_secret_is_refused() -> None:
    raw = meta_body(fb_text())
    with pytest.raises(SignatureInvalid):
        decode(
            SETTINGS,
            "messenger",
            raw,
            {"x-hub-signature-256": meta_signature(SETTINGS.whatsapp_app_secret, raw)},
        )


def test_signature_is_checked_before_parsing() -> None:
    with pytest.raises(SignatureInvalid):
        decode(SETTINGS, "whatsapp", b"{not json", {})


def test_validly_signed_invalid_json_is_malformed() -> None:
    raw = (CHANNELS / "messenger" / "invalid_json.txt").read_bytes()
    with pytest.raises(MalformedBody):
        decode(
            SETTINGS,
            "messenger",
            raw,
            {"x-hub-signature-256": meta_signature(SETTINGS.messenger_app_secret, raw)},
        )


def test_oversize_body_is_refused_before_anything_else() -> None:
    with pytest.raises(PayloadTooLarge):
        decode(SETTINGS, "whatsapp", b" " * 10_001, {})


def test_webchat_requires_the_bearer_token_and_a_valid_body() -> None:
    raw = json.dumps(webchat()).encode()
    auth = {"Authorization": f"Bearer {SETTINGS.webchat_token}"}
    assert len(decode(SETTINGS, "webchat", raw, auth).events) == 1
    with pytest.raises(SignatureInvalid):
        decode(SETTINGS, "webchat", raw, {"Authorization": "Bearer nope"})
    with pytest.raises(InvalidPayload):
        decode(SETTINGS, "webchat", b'{"text": 1}', auth)


def test_ivr_form_is_verified_over_the_url_and_params() -> None:
    params = twilio_call("CA9", Digits="2")
    url = "http://testserver/webhooks/ivr?step=gather&menu=main"
    raw = urlencode(params).encode()
    headers = {
        "X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    [event] = decode(SETTINGS, "ivr", raw, headers, url).events
    assert event.event_id == "tw:CA9:gather:main:d2"
    with pytest.raises(SignatureInvalid):
        decode(SETTINGS, "ivr", raw, headers, url.replace("menu=main", "menu=other"))
    with pytest.raises(InvalidPayload):
        decode(SETTINGS, "ivr", raw, headers, None)


def test_ivr_behind_a_proxy_is_verified_against_the_public_url() -> None:
    settings = isolated_settings(ivr_public_base_url="https://cc.example.com/")
    params = twilio_call("CA10")
    public = "https://cc.example.com/webhooks/ivr?x=1"
    seen = "http://10.0.0.5:8080/webhooks/ivr?x=1"
    assert twilio_urls(settings, seen)[0] == public
    headers = {"X-Twilio-Signature": twilio_signature(settings.ivr_auth_token, public, params)}
    assert decode(settings, "ivr", urlencode(params).encode(), headers, seen).events
    assert ivr_action_url(settings) == "https://cc.example.com/webhooks/ivr?step=gather&menu=main"
    # Signed over the address behind the proxy: not what Twilio signs, so refused.
    local = {"X-Twilio-Signature": twilio_signature(settings.ivr_auth_token, seen, params)}
    with pytest.raises(SignatureInvalid):
        decode(settings, "ivr", urlencode(params).encode(), local, seen)


def test_ivr_json_body_is_verified_by_body_sha256() -> None:
    raw = json.dumps(twilio_call("CA11", CallStatus="completed")).encode()
    url = f"http://testserver/webhooks/ivr?bodySHA256={hashlib.sha256(raw).hexdigest()}"
    headers = {
        "X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, {}),
        "Content-Type": "application/json",
    }
    [event] = decode(SETTINGS, "ivr", raw, headers, url).events
    assert event.event_id == "tw:CA11:status:completed"
    with pytest.raises(SignatureInvalid):
        decode(SETTINGS, "ivr", raw + b" ", headers, url)
