"""Signed webhooks of every channel go through HTTP to the real broker exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.ingest.conftest import Probe
from tests.queues import settle
from tests.support import Platform, eventually, meta_body, meta_signature, twilio_signature
from tests.unit.ingest.payloads import (
    CHANNELS,
    channel_fixture,
    fb_envelope,
    fb_text,
    twilio_call,
    uid,
    wa_envelope,
    wa_text,
    webchat,
)

IVR_URL = "http://testserver/webhooks/ivr"


def meta_headers(secret: str, raw: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(secret, raw)}


async def post_whatsapp(platform: Platform, payload: dict[str, Any]) -> Any:
    raw = meta_body(payload)
    return await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers=meta_headers(platform.settings.whatsapp_app_secret, raw),
    )


async def arrives(probe: Probe, event_id: str) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]]:
        return probe.with_id(event_id)

    return await eventually(found, timeout=15)


async def test_signed_whatsapp_text_is_published_once_with_routing_key(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    response = await post_whatsapp(platform, wa_text("Hola, señor 😀", wamid=wamid))
    assert response.status_code == 200
    assert response.json() == {"received": 1, "duplicates": 0}
    [event] = await arrives(probe, f"wa:106540352242922:{wamid}")
    assert event["_routing_key"] == "inbound.whatsapp.message"
    assert event["text"] == "Hola, señor 😀"
    assert event["identity"] == {"channel": "whatsapp", "external_id": "+5491155550000"}
    assert event["contact"]["name"] == "Sheena Nelson"


async def test_same_whatsapp_webhook_delivered_twice_publishes_one_event(
    platform: Platform, probe: Probe
) -> None:
    wamid = f"wamid.{uid()}"
    payload = wa_text(wamid=wamid)
    first = await post_whatsapp(platform, payload)
    second = await post_whatsapp(platform, payload)
    assert first.json() == {"received": 1, "duplicates": 0}
    assert second.status_code == 200
    assert second.json() == {"received": 1, "duplicates": 1}
    await probe.settle()
    assert len(probe.with_id(f"wa:106540352242922:{wamid}")) == 1


async def test_batch_with_messages_and_statuses_publishes_each_once(
    platform: Platform, probe: Probe
) -> None:
    tag = uid()
    payload = wa_envelope(
        f"line{tag}",
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5491100000001"}],
            "messages": [
                {
                    "from": "5491100000001",
                    "id": f"a{tag}",
                    "timestamp": "1700000000",
                    "type": "text",
                    "text": {"body": "uno"},
                },
                {
                    "from": "5491100000001",
                    "id": f"b{tag}",
                    "timestamp": "1700000001",
                    "type": "reaction",
                    "reaction": {"message_id": f"a{tag}", "emoji": ""},
                },
                {
                    "from": "5491100000001",
                    "id": f"a{tag}",
                    "timestamp": "1700000000",
                    "type": "text",
                    "text": {"body": "uno"},
                },
            ],
            "statuses": [
                {
                    "id": f"out{tag}",
                    "status": "read",
                    "timestamp": "1700000002",
                    "recipient_id": "5491100000001",
                }
            ],
        },
    )
    response = await post_whatsapp(platform, payload)
    assert response.json() == {"received": 4, "duplicates": 1}
    await probe.settle()
    assert len(probe.with_prefix(f"wa:line{tag}:")) == 2
    [status] = probe.with_id(f"wa-st:out{tag}:read")
    assert status["_routing_key"] == "inbound.whatsapp.status"


async def test_a_batch_with_one_unencodable_message_publishes_the_others(
    platform: Platform, probe: Probe
) -> None:
    """A lone surrogate in one message of a signed batch: that item is skipped, the others
    are published once, and the answer is 200 (not a 503 that Meta would retry forever)."""
    token = uid()
    messages = [
        {"from": "5491155550000", "id": f"wamid.{token}-{n}", "timestamp": "1749854575",
         "type": "text", "text": {"body": body}}
        for n, body in ((1, "antes"), (2, "\ud800x"), (3, "después"))
    ]  # fmt: skip
    response = await post_whatsapp(platform, wa_envelope("106540352242922", {"messages": messages}))
    assert response.status_code == 200, response.text
    assert response.json()["received"] == 2
    for n in (1, 3):
        await arrives(probe, f"wa:106540352242922:wamid.{token}-{n}")
    fb_items = [
        {"sender": {"id": f"psid{token}"}, "recipient": {"id": "625987814267888"},
         "timestamp": 1458692752478, "message": {"mid": f"m_{token}-{n}", "text": text}}
        for n, text in ((1, "\ud800"), (2, "hola"))
    ]  # fmt: skip
    raw = meta_body(fb_envelope(*fb_items))
    response = await platform.http.post(
        "/webhooks/messenger",
        content=raw,
        headers=meta_headers(platform.settings.messenger_app_secret, raw),
    )
    assert response.status_code == 200, response.text
    await arrives(probe, f"fb:625987814267888:m_{token}-2")
    await probe.settle()
    assert probe.with_id(f"wa:106540352242922:wamid.{token}-2") == []
    assert probe.with_id(f"fb:625987814267888:m_{token}-1") == []


async def test_status_only_and_other_field_webhooks_answer_200(platform: Platform) -> None:
    response = await post_whatsapp(
        platform, wa_envelope("1", {"event": "x"}, field="account_update")
    )
    assert response.status_code == 200
    assert response.json() == {"received": 0, "duplicates": 0}


async def test_signed_messenger_message_and_postback_are_published_and_echo_is_not(
    platform: Platform, probe: Probe
) -> None:
    psid = f"psid{uid()}"
    mid = f"m_{uid()}"
    payload = fb_envelope(
        {
            "sender": {"id": psid},
            "recipient": {"id": "P1"},
            "timestamp": 1700000000000,
            "message": {"mid": mid, "text": "hola", "quick_reply": {"payload": "SOPORTE"}},
        },
        {
            "sender": {"id": psid},
            "recipient": {"id": "P1"},
            "timestamp": 1700000000001,
            "postback": {"title": "Empezar", "payload": "GET_STARTED"},
        },
        {
            "sender": {"id": "P1"},
            "recipient": {"id": psid},
            "timestamp": 1700000000002,
            "message": {"mid": f"echo{uid()}", "is_echo": True, "app_id": 1, "text": "eco"},
        },
        page="P1",
    )
    raw = meta_body(payload)
    response = await platform.http.post(
        "/webhooks/messenger",
        content=raw,
        headers=meta_headers(platform.settings.messenger_app_secret, raw),
    )
    assert response.json() == {"received": 2, "duplicates": 0}
    await probe.settle()
    mine = [m for m in probe.messages if m.get("identity", {}).get("external_id") == psid]
    assert sorted(m["message_type"] for m in mine) == ["postback", "text"]
    assert all(m["_routing_key"] == "inbound.messenger.message" for m in mine)


async def test_messenger_standby_body_is_accepted(platform: Platform) -> None:
    raw = meta_body(channel_fixture("messenger/bodies.json")["standby"])
    response = await platform.http.post(
        "/webhooks/messenger",
        content=raw,
        headers=meta_headers(platform.settings.messenger_app_secret, raw),
    )
    assert response.status_code == 200


async def test_messenger_invalid_json_signed_correctly_is_400(platform: Platform) -> None:
    raw = (CHANNELS / "messenger" / "invalid_json.txt").read_bytes()
    response = await platform.http.post(
        "/webhooks/messenger",
        content=raw,
        headers=meta_headers(platform.settings.messenger_app_secret, raw),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_body"
    assert "JSON" in error["details"][0]["message"]


async def test_webchat_message_with_bearer_token_is_published_once(
    platform: Platform, probe: Probe
) -> None:
    body = webchat()
    headers = {"Authorization": f"Bearer {platform.settings.webchat_token}"}
    first = await platform.http.post("/webhooks/webchat", json=body, headers=headers)
    second = await platform.http.post("/webhooks/webchat", json=body, headers=headers)
    event_id = f"wc:{body['session_id']}:{body['message_id']}"
    assert first.json() == {"received": 1, "duplicates": 0, "event_id": event_id}
    assert second.json()["duplicates"] == 1
    await probe.settle()
    [event] = probe.with_id(event_id)
    assert event["_routing_key"] == "inbound.webchat.message"
    assert event["contact"]["document_number"] == "30123456"
    assert [t["author"] for t in event["transcript"]] == ["bot", "customer"]


async def test_webchat_without_token_is_401_and_invalid_body_is_422(platform: Platform) -> None:
    body = webchat()
    assert (await platform.http.post("/webhooks/webchat", json=body)).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert (
        await platform.http.post("/webhooks/webchat", json=body, headers=wrong)
    ).status_code == 401
    ok = {"Authorization": f"Bearer {platform.settings.webchat_token}"}
    bad = await platform.http.post("/webhooks/webchat", json={"session_id": "s"}, headers=ok)
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_payload"
    reason = error["details"][0]["message"]
    assert "message_id" in reason and "text" in reason


async def post_ivr(platform: Platform, params: dict[str, str], query: str = "") -> Any:
    url = IVR_URL + (f"?{query}" if query else "")
    return await platform.http.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(platform.settings.ivr_auth_token, url, params),
        },
    )


async def test_ivr_call_flow_answers_twiml_and_publishes_each_step_once(
    platform: Platform, probe: Probe
) -> None:
    sid = f"CA{uid()}"
    incoming = await post_ivr(platform, twilio_call(sid))
    assert incoming.status_code == 200
    assert incoming.headers["content-type"].startswith("application/xml")
    assert "<Gather" in incoming.text and 'language="es-MX"' in incoming.text
    chosen = await post_ivr(
        platform, twilio_call(sid, Digits="1", CallStatus="in-progress"), "step=gather&menu=main"
    )
    assert "menu=soporte" in chosen.text and "Si no tiene conexión" in chosen.text
    again = await post_ivr(
        platform, twilio_call(sid, Digits="1", CallStatus="in-progress"), "step=gather&menu=main"
    )
    assert again.status_code == 200
    done = await post_ivr(
        platform, twilio_call(sid, CallStatus="completed", CallDuration="30", SequenceNumber="2")
    )
    assert done.text.endswith("<Response></Response>")
    await probe.settle()
    steps = {m["event_id"]: m for m in probe.with_prefix(f"tw:{sid}:")}
    assert sorted(steps) == sorted(
        [f"tw:{sid}:incoming", f"tw:{sid}:gather:main:d1", f"tw:{sid}:status:2"]
    )
    gather = steps[f"tw:{sid}:gather:main:d1"]
    assert (gather["motive"], gather["city"], gather["_routing_key"]) == (
        "soporte técnico",
        "Cordoba",
        "inbound.ivr.call",
    )
    assert len(probe.with_prefix(f"tw:{sid}:")) == 3


async def test_a_mistyped_menu_choice_then_the_right_one_reaches_the_calls_table(
    platform: Platform, probe: Probe
) -> None:
    """`7` (no such option: the menu again) then `1` on the same call: the retry is its own
    event, so the call row gets its motive."""
    sid = f"CA{uid()}"
    await post_ivr(platform, twilio_call(sid))
    wrong = await post_ivr(
        platform, twilio_call(sid, Digits="7", CallStatus="in-progress"), "step=gather&menu=main"
    )
    assert "No entendimos" in wrong.text
    right = await post_ivr(
        platform, twilio_call(sid, Digits="1", CallStatus="in-progress"), "step=gather&menu=main"
    )
    assert "menu=soporte" in right.text  # the second level of soporte técnico is asked next
    await probe.settle()
    gathers = probe.with_prefix(f"tw:{sid}:gather:")
    assert [g["motive"] for g in gathers] == ["Opción no válida", "soporte técnico"]

    async def motive() -> str | None:
        response = await platform.http.get(
            "/api/tables/llamadas",
            params={"estado": "todos", "page_size": 500},
            headers=platform.auth(),
        )
        rows = [r for r in response.json()["rows"] if r["id"] == sid]
        return rows[0]["motivo"] if rows and rows[0]["motivo"] == "Soporte técnico" else None

    assert await eventually(motive) == "Soporte técnico"


async def test_ivr_with_forged_signature_is_401_and_publishes_nothing(
    platform: Platform, probe: Probe
) -> None:
    sid = f"CA{uid()}"
    params = twilio_call(sid)
    signed_for_other_url = twilio_signature(
        platform.settings.ivr_auth_token, IVR_URL + "?x=1", params
    )
    for signature in (None, "", signed_for_other_url, twilio_signature("wrong", IVR_URL, params)):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        response = await platform.http.post(IVR_URL, content=urlencode(params), headers=headers)
        assert response.status_code == 401
    await probe.settle()
    assert probe.with_prefix(f"tw:{sid}:") == []


def forgeries(secret: str, payload: dict[str, Any]) -> list[tuple[str, bytes, dict[str, str]]]:
    raw = meta_body(payload)
    good = meta_signature(secret, raw)
    reserialized = json.dumps(payload, ensure_ascii=False).encode()
    ct = {"Content-Type": "application/json"}
    return [
        ("no header", raw, ct),
        ("wrong secret", raw, {**ct, "X-Hub-Signature-256": meta_signature("not-the-secret", raw)}),
        ("other body", raw, {**ct, "X-Hub-Signature-256": meta_signature(secret, b"{}")}),
        ("re-serialized non-ascii", reserialized, {**ct, "X-Hub-Signature-256": good}),
        (
            "sha1 prefix",
            raw,
            {
                **ct,
                "X-Hub-Signature-256": "sha1="
                + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest(),
            },
        ),
        ("truncated", raw, {**ct, "X-Hub-Signature-256": good[:-8]}),
        ("upper-case hex", raw, {**ct, "X-Hub-Signature-256": "sha256=" + good[7:].upper()}),
    ]


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
async def test_meta_forgeries_are_401_and_publish_nothing(
    platform: Platform, probe: Probe, channel: str
) -> None:
    tag = uid()
    if channel == "whatsapp":
        payload = wa_text("contraseña ñandú", wamid=f"wamid.{tag}")
        secret = platform.settings.whatsapp_app_secret
    else:
        payload = fb_text("contraseña ñandú", mid=f"m_{tag}")
        secret = platform.settings.messenger_app_secret
    for name, raw, headers in forgeries(secret, payload):
        response = await platform.http.post(f"/webhooks/{channel}", content=raw, headers=headers)
        assert response.status_code == 401, name
    await probe.settle()
    assert [m for m in probe.messages if tag in m["event_id"]] == []


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"[1, 2]", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b'{"object":"whatsapp_business_account","entry":' + b"[" * 40 + b"]" * 40 + b"}", 400),
        (b'{"object":"whatsapp_business_account"}', 422),
        (b'{"object":"page","entry":[]}', 422),
        (b'{"entry":"nope"}', 422),
    ],
)
async def test_signed_malformed_bodies_get_400_or_422_never_500(
    platform: Platform, raw: bytes, status: int
) -> None:
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers=meta_headers(platform.settings.whatsapp_app_secret, raw),
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == {400: "malformed_body", 422: "invalid_payload"}[status]
    assert error["message"] and error["details"]


async def test_huge_array_is_refused_cheaply_with_400(platform: Platform) -> None:
    raw = b'{"entry":[' + b",".join(b"0" for _ in range(400_000)) + b"]}"
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers=meta_headers(platform.settings.whatsapp_app_secret, raw),
    )
    assert response.status_code == 400


async def test_oversize_body_is_413(platform: Platform) -> None:
    raw = b" " * (platform.settings.max_webhook_bytes + 1)
    response = await platform.http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers=meta_headers(platform.settings.whatsapp_app_secret, raw),
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("channel", "token_attr"),
    [("whatsapp", "whatsapp_verify_token"), ("messenger", "messenger_verify_token")],
)
async def test_verification_handshake_echoes_the_challenge_only_for_the_right_token(
    platform: Platform, channel: str, token_attr: str
) -> None:
    token = getattr(platform.settings, token_attr)
    ok = await platform.http.get(
        f"/webhooks/{channel}",
        params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    php_style = await platform.http.get(
        f"/webhooks/{channel}",
        params={"hub_mode": "subscribe", "hub_verify_token": token, "hub_challenge": "42"},
    )
    assert php_style.text == "42"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": token, "hub.challenge": "1"},
        {},
    ):
        assert (await platform.http.get(f"/webhooks/{channel}", params=params)).status_code == 403


async def _metric(platform: Platform, name: str, **labels: str) -> float:
    """One sample's value as /metrics exposes it (0 when absent)."""
    text = (await platform.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_ingest_metrics_count_published_events_and_rejections(platform: Platform) -> None:
    # Nothing of an earlier test may still be published from the raw queue meanwhile.
    await settle(platform.settings, "ingest.raw")
    published = ("cc_inbound_events_total", {"channel": "whatsapp", "kind": "message"})
    refused = ("cc_webhook_rejections_total", {"channel": "whatsapp", "reason": "signature"})
    before = [await _metric(platform, name, **labels) for name, labels in (published, refused)]
    await post_whatsapp(platform, wa_text())
    await platform.http.post("/webhooks/whatsapp", content=b"{}")
    await platform.http.post("/webhooks/whatsapp", content=b"{}")
    after = [await _metric(platform, name, **labels) for name, labels in (published, refused)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 2]


async def test_concurrent_duplicate_deliveries_publish_exactly_one_event(
    platform: Platform, probe: Probe
) -> None:
    import asyncio

    wamid = f"wamid.{uid()}"
    payload = wa_text("muchas veces", wamid=wamid)
    responses = await asyncio.gather(*(post_whatsapp(platform, payload) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["duplicates"] for r in responses) == 19
    await probe.settle()
    assert len(probe.with_id(f"wa:106540352242922:{wamid}")) == 1
