"""Messenger bodies: customer messages, postbacks and receipts become events; echoes do not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest import messenger
from services.ingest.errors import InvalidPayload
from shared.contracts.inbound import DeliveryStatus, InboundMessage, parse_inbound
from tests.unit.ingest.payloads import channel_fixture, fb_envelope

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = "625987814267888"


def item(**event: Any) -> dict[str, Any]:
    return {
        "sender": {"id": "PSID1"},
        "recipient": {"id": PAGE},
        "timestamp": 1458692752478,
        **event,
    }


def events(*items: dict[str, Any]) -> list[Any]:
    batch = messenger.normalize(fb_envelope(*items, page=PAGE), NOW)
    for event in batch.events:
        assert parse_inbound(event.model_dump_json()) == event
    return batch.events


def test_an_unencodable_item_is_skipped_and_the_rest_kept() -> None:
    items = [
        {"sender": {"id": "p1"}, "recipient": {"id": "pg"}, "timestamp": 1458692752478,
         "message": {"mid": mid, "text": text}}
        for mid, text in (("m1", "hola"), ("m2", "\ud800x"), ("m3", "chau"))
    ]  # fmt: skip
    batch = messenger.normalize(fb_envelope(*items, page="pg"), datetime.now(UTC))
    assert [e.event_id for e in batch.events] == ["fb:pg:m1", "fb:pg:m3"]
    assert batch.skipped == ["message: not encodable (PydanticSerializationError)"]


def test_text_message_is_keyed_by_page_and_mid_with_psid_identity() -> None:
    [event] = events(item(message={"mid": "m_1", "text": "hola"}))
    assert isinstance(event, InboundMessage)
    assert event.event_id == f"fb:{PAGE}:m_1"
    assert event.identity.key == "messenger:PSID1"
    assert (event.message_type, event.text, event.line_id) == ("text", "hola", PAGE)
    assert event.contact.name is None  # Messenger sends no name
    assert event.occurred_at == datetime.fromtimestamp(1458692752.478, tz=UTC)


def test_quick_reply_payload_is_kept() -> None:
    [event] = events(item(message={"mid": "m_2", "text": "Sí", "quick_reply": {"payload": "YES"}}))
    assert event.payload == "YES"


def test_attachments_give_the_message_type_and_urls() -> None:
    [image] = events(
        item(
            message={
                "mid": "m_3",
                "attachments": [{"type": "image", "payload": {"url": "https://x/i.jpg"}}],
            }
        )
    )
    assert (image.message_type, image.attachments[0].url) == ("image", "https://x/i.jpg")
    [file] = events(
        item(
            message={
                "mid": "m_4",
                "attachments": [{"type": "file", "payload": {"url": "https://x/f.pdf"}}],
            }
        )
    )
    assert file.message_type == "document"


def test_sticker_in_transition_form_is_a_sticker() -> None:
    [event] = events(
        item(
            message={
                "mid": "m_5",
                "sticker_id": 369239263222822,
                "attachments": [
                    {
                        "type": "image",
                        "payload": {"url": "https://x/like.png", "sticker_id": 369239263222822},
                    }
                ],
            }
        )
    )
    assert event.message_type == "sticker"


def test_fallback_link_with_null_payload_becomes_text_with_the_url() -> None:
    [event] = events(
        item(
            message={
                "mid": "m_6",
                "attachments": [
                    {
                        "type": "fallback",
                        "payload": None,
                        "title": "Nota",
                        "url": "https://example.com/n",
                    }
                ],
            }
        )
    )
    assert event.message_type == "text"
    assert event.text == "Nota https://example.com/n"


def test_unknown_attachment_types_are_unsupported_with_raw() -> None:
    [event] = events(
        item(message={"mid": "m_7", "attachments": [{"type": "ig_reel", "payload": {"url": "u"}}]})
    )
    assert event.message_type == "unsupported"
    assert event.raw["message"]["mid"] == "m_7"


def test_location_attachment_keeps_coordinates() -> None:
    [event] = events(
        item(
            message={
                "mid": "m_8",
                "attachments": [
                    {"type": "location", "payload": {"coordinates": {"lat": -34.6, "long": -58.4}}}
                ],
            }
        )
    )
    assert event.location.latitude == -34.6


def test_postback_without_mid_is_keyed_by_page_psid_time_and_payload() -> None:
    [event] = events(item(postback={"title": "Empezar", "payload": "GET_STARTED"}))
    assert event.message_type == "postback"
    assert event.event_id.startswith(f"fb-pb:{PAGE}:PSID1:1458692752478:")
    assert (event.text, event.payload) == ("Empezar", "GET_STARTED")
    [other] = events(item(postback={"title": "Empezar", "payload": "OTHER"}))
    assert other.event_id != event.event_id


def test_postback_with_mid_uses_the_message_key() -> None:
    [event] = events(item(postback={"title": "T", "payload": "P", "mid": "m_pb"}))
    assert event.event_id == f"fb:{PAGE}:m_pb"


def test_echoes_are_ignored() -> None:
    batch = messenger.normalize(
        fb_envelope(item(message={"mid": "m_e", "is_echo": True, "app_id": 1, "text": "x"})), NOW
    )
    assert batch.events == [] and batch.ignored == 1


def test_delivery_and_read_are_watermark_receipts() -> None:
    delivery, read = events(
        {
            "sender": {"id": "PSID1"},
            "recipient": {"id": PAGE},
            "delivery": {"watermark": 1458668856253},
        },
        item(read={"watermark": 1458668856999}),
    )
    assert isinstance(delivery, DeliveryStatus) and isinstance(read, DeliveryStatus)
    assert (delivery.status, delivery.watermark, delivery.external_message_id) == (
        "delivered",
        1458668856253,
        None,
    )
    assert delivery.event_id == f"fb-rcpt:{PAGE}:PSID1:delivery:1458668856253"
    assert delivery.occurred_at == datetime.fromtimestamp(1458668856.253, tz=UTC)
    assert read.status == "read"


def test_reaction_and_unreaction_refer_to_the_message() -> None:
    react, unreact = events(
        item(
            reaction={"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react", "mid": "m_1"}
        ),
        item(reaction={"reaction": "love", "action": "unreact", "mid": "m_1"}),
    )
    assert (react.message_type, react.reply_to, react.text, react.payload) == (
        "reaction",
        "m_1",
        "\u2764\ufe0f",
        "react",
    )
    assert (unreact.text, unreact.payload) == (None, "unreact")
    assert react.event_id != unreact.event_id


def test_standby_items_are_normalized_too() -> None:
    body = {
        "object": "page",
        "entry": [
            {"id": PAGE, "time": 1, "standby": [item(message={"mid": "m_sb", "text": "hi"})]}
        ],
    }
    assert [e.event_id for e in messenger.normalize(body, NOW).events] == [f"fb:{PAGE}:m_sb"]


def test_unknown_keys_and_items_without_sender_are_ignored_or_skipped() -> None:
    batch = messenger.normalize(
        fb_envelope(
            item(speech={"mid": "x"}),
            {"recipient": {"id": PAGE}, "policy-enforcement": {"action": "block"}},
            {"recipient": {"id": PAGE}, "message": {"mid": "m_ns", "text": "?"}},
            item(message={"mid": "m_ok", "text": "ok"}),
        ),
        NOW,
    )
    assert [e.event_id for e in batch.events] == [f"fb:{PAGE}:m_ok"]
    assert batch.ignored == 2 and len(batch.skipped) == 1


@pytest.mark.parametrize(
    "body", [[], {"object": "whatsapp_business_account", "entry": []}, {"object": "page"}]
)
def test_bodies_that_are_not_messenger_webhooks_are_schema_errors(body: Any) -> None:
    with pytest.raises(InvalidPayload):
        messenger.normalize(body, NOW)


EVENTS: dict[str, dict[str, Any]] = channel_fixture("messenger/events.json")
# The `messaging[]` items of tests/fixtures/channels/messenger/events.json that are events,
# and their message type or delivery state; every other item is acknowledged and ignored.
EVENT_KINDS = {
    "text": "text",
    "quick_reply": "text",
    "reply_to": "text",
    "image": "image",
    "audio": "audio",
    "video": "video",
    "file": "document",
    "sticker": "sticker",
    "location": "location",
    "fallback_link": "text",
    "postback": "postback",
    "postback_without_mid": "postback",
    "reaction": "reaction",
    "unreaction": "reaction",
    "delivery": "delivered",
    "read": "read",
}
IGNORED = {
    "echo",
    "optin",
    "referral",
    "account_linking",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "policy_enforcement",
    "app_roles",
    "game_play",
    "payment",
    "pre_checkout",
    "checkout_update",
    "unknown_key",
}


def test_the_fixtures_name_every_item_once() -> None:
    assert set(EVENTS) == set(EVENT_KINDS) | IGNORED
    assert not set(EVENT_KINDS) & IGNORED


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_messenger_item_is_an_event_or_ignored(name: str) -> None:
    batch = messenger.normalize(fb_envelope(EVENTS[name], page="104000000000001"), NOW)
    assert batch.skipped == []
    if name in EVENT_KINDS:
        [event] = batch.events
        assert isinstance(event, InboundMessage | DeliveryStatus)
        kind = event.message_type if isinstance(event, InboundMessage) else event.status
        assert kind == EVENT_KINDS[name]
        assert event.identity.external_id == "7100000000000001"
    else:
        assert (batch.events, batch.ignored) == ([], 1), name


def test_messenger_item_details_survive_normalization() -> None:
    def one(name: str) -> Any:
        [event] = messenger.normalize(fb_envelope(EVENTS[name]), NOW).events
        return event

    assert one("quick_reply").payload == "MENU_VENTAS"
    assert one("reply_to").reply_to == "m_page0001"
    assert one("postback").payload == "HUMANO"
    assert one("postback").event_id == "fb:625987814267888:m_pb0001"
    assert one("postback_without_mid").event_id.startswith("fb-pb:625987814267888:")
    assert one("location").location.latitude == -31.4135
    assert one("fallback_link").text == "Planes de fibra https://towebs.example.com/planes"


BODIES: dict[str, dict[str, Any]] = channel_fixture("messenger/bodies.json")


@pytest.mark.parametrize("name", ["text_with_quick_reply", "standby"])
def test_messenger_bodies_give_one_text_message_with_its_quick_reply(name: str) -> None:
    batch = messenger.normalize(BODIES[name], NOW)
    [event] = batch.events
    assert isinstance(event, InboundMessage)
    assert (event.message_type, event.payload) == ("text", "MENU_VENTAS")


def test_a_postback_from_standby_is_a_postback() -> None:
    [event] = messenger.normalize(BODIES["postback_from_standby"], NOW).events
    assert isinstance(event, InboundMessage)
    assert (event.message_type, event.payload) == ("postback", "MENU_SOPORTE")


def test_a_batched_body_gives_every_item_of_every_entry_but_the_echo() -> None:
    batch = messenger.normalize(BODIES["batch"], NOW)
    assert [e.event_id for e in batch.events] == [
        "fb:104000000000001:m_body0003",
        "fb:104000000000001:m_body0004",
        "fb:104000000000001:m_body0005",
    ]
    assert batch.ignored == 1
