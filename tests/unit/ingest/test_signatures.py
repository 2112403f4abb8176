"""Signature checks against the channels' own test vectors and the forgery classes."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from services.ingest.signatures import (
    body_sha256_matches,
    twilio_digest,
    verify_bearer,
    verify_meta,
    verify_twilio,
)
from tests.unit.ingest.payloads import channel_fixture

META_SECRET = "test_app_secret"
META_BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",'
    b'"value":{"messages":[{"text":{"body":"\\u00e4\\u00f6\\u00e5 \\ud83d\\ude00"}}]}}]}]}'
)
META_SIGNATURE = "sha256=e04201730550587cef761ee1616bf62a000e182b9db9465b0117e2fcbc6a5900"


def test_meta_test_vector_from_channels_spec_is_accepted() -> None:
    assert verify_meta(META_SECRET, META_BODY, META_SIGNATURE)


def test_meta_signature_over_reserialized_body_with_non_ascii_is_refused() -> None:
    reserialized = json.dumps(json.loads(META_BODY), separators=(",", ":"), ensure_ascii=False)
    assert reserialized.encode() != META_BODY
    assert not verify_meta(META_SECRET, reserialized.encode(), META_SIGNATURE)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        META_SIGNATURE[:-2],  # truncated
        META_SIGNATURE.upper().replace("SHA256=", "sha256="),  # upper-case hex
        "sha1=" + hmac.new(META_SECRET.encode(), META_BODY, hashlib.sha1).hexdigest(),
        META_SIGNATURE.replace("sha256=", ""),  # no prefix
        META_SIGNATURE + "00",  # too long
        "sha256=" + "0" * 64,
    ],
)
def test_meta_forgery_classes_are_refused(header: str | None) -> None:
    assert not verify_meta(META_SECRET, META_BODY, header)


def test_meta_signature_with_another_secret_is_refused() -> None:
    forged = "sha256=" + hmac.new(b"other", META_BODY, hashlib.sha256).hexdigest()
    assert not verify_meta(META_SECRET, META_BODY, forged)


def test_meta_signature_of_another_body_is_refused() -> None:
    assert not verify_meta(META_SECRET, META_BODY + b" ", META_SIGNATURE)


def test_bearer_token_must_match_exactly() -> None:
    assert verify_bearer("tok", "Bearer tok")
    assert verify_bearer("tok", "bearer tok")
    for header in (None, "", "Bearer", "Bearer tok2", "Basic tok", "tok", "Bearer to"):
        assert not verify_bearer("tok", header)


def test_twilio_vector_from_channels_spec_is_accepted() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_digest("12345", url, params.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert verify_twilio("12345", [url], params.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verify_twilio("1234", [url], params.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    tampered = {**params, "Digits": "1235"}
    assert not verify_twilio("12345", [url], tampered.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


SIGNED: dict[str, Any] = channel_fixture("ivr/signatures.json")
TOKEN = SIGNED["auth_token"]


def test_twilio_signature_is_accepted_whether_or_not_the_default_port_was_signed() -> None:
    params = SIGNED["form"]
    for name in ("signed_with_port_443", "signed_with_port_80"):
        vector = SIGNED[name]
        without_port = vector["url"].replace(":443", "").replace(":80", "")
        # Twilio signed the URL with the port; we saw it without (and vice versa).
        assert verify_twilio(TOKEN, [without_port], params.items(), vector["signature"])
    assert verify_twilio(
        TOKEN,
        [SIGNED["url"].replace("https://cc.example.com", "https://cc.example.com:443")],
        params.items(),
        SIGNED["signature"],
    )
    assert not verify_twilio(TOKEN, [SIGNED["url"] + "&x=1"], params.items(), SIGNED["signature"])


def test_twilio_repeated_params_are_each_signed_in_sorted_order() -> None:
    vector = SIGNED["repeated_params"]
    pairs = [tuple(p) for p in vector["pairs"]]
    assert verify_twilio(TOKEN, [vector["url"]], pairs, vector["signature"])
    only_first = [p for p in pairs if p != ("Digits", "1")]
    assert not verify_twilio(TOKEN, [vector["url"]], only_first, vector["signature"])


def test_twilio_json_body_is_checked_through_body_sha256() -> None:
    vector = SIGNED["json_body"]
    raw = vector["raw_body"].encode()
    assert verify_twilio(TOKEN, [vector["url"]], [], vector["signature"])
    query = {"bodySHA256": vector["body_sha256_hex"]}
    assert body_sha256_matches(raw, query)
    assert not body_sha256_matches(raw + b" ", query)
    assert not body_sha256_matches(raw, {})


def test_twilio_full_inbound_call_verifies() -> None:
    vector = SIGNED["full_inbound_call"]
    form = vector["form"]
    assert verify_twilio(TOKEN, [vector["url"]], form.items(), vector["signature"])
    assert not verify_twilio(TOKEN, [vector["url"]], form.items(), None)
    tampered = {**form, "From": "+5491100000000"}
    assert not verify_twilio(TOKEN, [vector["url"]], tampered.items(), vector["signature"])
