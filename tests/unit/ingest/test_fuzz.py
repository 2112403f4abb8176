"""Property: whatever a correctly signed sender posts, ingest answers with events or a
refusal it can map to 4xx; never an unexpected exception (which would be a 500)."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest import messenger, webchat, whatsapp
from services.ingest.batch import Batch
from services.ingest.errors import IngestError, InvalidPayload
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


def run(channel: Any, payload: Any) -> None:
    # The normalizer itself (not the decode() safety net) refuses only with InvalidPayload.
    with contextlib.suppress(InvalidPayload):
        check(NORMALIZERS[channel](payload, utcnow()))
    raw = meta_body(payload) if channel != "webchat" else json.dumps(payload).encode()
    secret = (
        SETTINGS.whatsapp_app_secret if channel == "whatsapp" else SETTINGS.messenger_app_secret
    )
    headers = {
        "X-Hub-Signature-256": meta_signature(secret, raw),
        "Authorization": f"Bearer {SETTINGS.webchat_token}",
    }
    with contextlib.suppress(IngestError):
        check(decode(SETTINGS, channel, raw, headers))


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
    headers = {"X-Twilio-Signature": twilio_signature(SETTINGS.ivr_auth_token, url, params)}
    with contextlib.suppress(IngestError):
        check(decode(SETTINGS, "ivr", urlencode(params).encode(), headers, url))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.binary(max_size=300),
    channel=st.sampled_from(["whatsapp", "messenger", "webchat", "ivr"]),
)
def test_arbitrary_bytes_are_refused_or_accepted_never_crash(raw: bytes, channel: Any) -> None:
    headers = {
        "X-Hub-Signature-256": meta_signature(SETTINGS.whatsapp_app_secret, raw),
        "Authorization": f"Bearer {SETTINGS.webchat_token}",
        "X-Twilio-Signature": "x",
    }
    with contextlib.suppress(IngestError):
        check(decode(SETTINGS, channel, raw, headers, IVR_URL))
