"""Property: whatever a correctly signed sender posts, ingest answers with events or a
refusal it can map to 4xx; never an unexpected exception (which would be a 500).

`decode` has a safety net that turns any exception of a normalizer into InvalidPayload (a
400 rather than a 500), so a crash behind it would pass unseen: every draw also goes through
the channel's normalizer directly, where only InvalidPayload is an acceptable refusal. Every
draw is signed with its own channel's secret, so none is refused for its signature alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest import ivr, messenger, webchat, whatsapp
from services.ingest.batch import Batch
from services.ingest.bodies import parse_form
from services.ingest.errors import IngestError, InvalidPayload, MalformedBody, SignatureInvalid
from services.ingest.handlers import decode
from shared.contracts.base import utcnow
from shared.contracts.inbound import parse_inbound
from tests.settings import isolated_settings
from tests.support import meta_body, meta_signature, twilio_signature

SETTINGS = isolated_settings()
IVR_URL = "http://testserver/webhooks/ivr"

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    [
        "object",
        "entry",
        "changes",
        "field",
        "value",
        "messages",
        "statuses",
        "contacts",
        "id",
        "from",
        "type",
        "text",
        "body",
        "timestamp",
        "messaging",
        "standby",
        "sender",
        "message",
        "mid",
        "postback",
        "delivery",
        "read",
        "reaction",
        "watermark",
        "attachments",
        "payload",
        "interactive",
        "location",
        "latitude",
        "status",
        "recipient_id",
        "metadata",
        "phone_number_id",
        "session_id",
        "message_id",
        "transcript",
        "author",
    ]
)
shaped = st.recursive(
    scalars
    | st.sampled_from(
        [
            "messages",
            "text",
            "image",
            "page",
            "whatsapp_business_account",
            "reaction",
            "interactive",
            "read",
            "delivered",
        ]
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=40,
)


def check(batch: Batch) -> None:
    for event in batch.events:
        assert parse_inbound(event.model_dump_json()) == event


NORMALIZERS = {
    "whatsapp": whatsapp.normalize,
    "messenger": messenger.normalize,
    "webchat": webchat.normalize,
}


def meta_secret(channel: str) -> str:
    if channel == "whatsapp":
        return SETTINGS.whatsapp_app_secret
    return SETTINGS.messenger_app_secret


def decode_signed(
    channel: Any, raw: bytes, headers: dict[str, str], url: str | None = None
) -> None:
    """`decode` may refuse, but never for the signature: the test signed it correctly."""
    try:
        check(decode(SETTINGS, channel, raw, headers, url))
    except SignatureInvalid:
        raise AssertionError(f"a correctly signed {channel} body was refused") from None
    except IngestError:
        pass


def run(channel: Any, payload: Any) -> None:
    # The normalizer itself (not the decode() safety net) refuses only with InvalidPayload.
    with contextlib.suppress(InvalidPayload):
        check(NORMALIZERS[channel](payload, utcnow()))
    raw = meta_body(payload) if channel != "webchat" else json.dumps(payload).encode()
    headers = {
        "X-Hub-Signature-256": meta_signature(meta_secret(channel), raw),
        "Authorization": f"Bearer {SETTINGS.webchat_token}",
    }
    decode_signed(channel, raw, headers)


def run_ivr_form(pairs: list[tuple[str, str]], url: str, query: dict[str, str]) -> None:
    with contextlib.suppress(InvalidPayload):
        batch = ivr.normalize(
            dict(pairs), utcnow(), step_hint=query.get("step"), menu=query.get("menu")
        )
        check(batch)
    headers = {"X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, pairs)}
    decode_signed("ivr", urlencode(pairs).encode(), headers, url)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(channel=st.sampled_from(["whatsapp", "messenger", "webchat"]), payload=json_values | shaped)
def test_signed_json_of_any_shape_never_escapes_as_an_unexpected_error(
    channel: str, payload: Any
) -> None:
    run(channel, payload)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(entries=st.lists(shaped, max_size=3), channel=st.sampled_from(["whatsapp", "messenger"]))
def test_meta_envelopes_with_arbitrary_entries_never_escape(
    entries: list[Any], channel: str
) -> None:
    obj = "whatsapp_business_account" if channel == "whatsapp" else "page"
    run(channel, {"object": obj, "entry": entries})


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "CallSid",
                "From",
                "FromCity",
                "Digits",
                "SpeechResult",
                "CallStatus",
                "CallDuration",
                "SequenceNumber",
                "Timestamp",
                "CallerName",
            ]
        ),
        st.text(max_size=40),
        max_size=10,
    ),
    query=st.sampled_from(["", "step=gather&menu=main", "step=status", "step=bogus"]),
)
def test_signed_ivr_forms_of_any_content_never_escape(params: dict[str, str], query: str) -> None:
    url = IVR_URL + (f"?{query}" if query else "")
    run_ivr_form(list(params.items()), url, dict(p.split("=") for p in query.split("&") if p))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.binary(max_size=300),
    channel=st.sampled_from(["whatsapp", "messenger", "webchat", "ivr", "ivr-json"]),
)
def test_arbitrary_bytes_are_refused_or_accepted_never_crash(raw: bytes, channel: str) -> None:
    if channel in ("whatsapp", "messenger", "webchat"):
        headers = {
            "X-Hub-Signature-256": meta_signature(meta_secret(channel), raw),
            "Authorization": f"Bearer {SETTINGS.webchat_token}",
        }
        decode_signed(channel, raw, headers)
    elif channel == "ivr-json":
        # Twilio signs the URL carrying the body's SHA-256 and nothing else.
        url = f"{IVR_URL}?bodySHA256={hashlib.sha256(raw).hexdigest()}"
        headers = {
            "X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, {}),
            "Content-Type": "application/json",
        }
        decode_signed("ivr", raw, headers, url)
    else:
        try:
            pairs = parse_form(raw)
        except MalformedBody:
            with pytest.raises(MalformedBody):
                decode(SETTINGS, "ivr", raw, {}, IVR_URL)
            return
        run_ivr_form(pairs, IVR_URL, {})
