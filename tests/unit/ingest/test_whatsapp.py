"""WhatsApp Cloud API bodies become one event per message or status, keyed for dedupe."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from services.ingest import whatsapp
from services.ingest.errors import InvalidPayload
from shared.contracts.inbound import DeliveryStatus, InboundMessage, parse_inbound
from tests.unit.ingest.payloads import (
    FIXTURES,
    channel_fixture,
    wa_envelope,
    wa_message,
    wa_text,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PHONE = "5491155550000"


def only_message(body: dict[str, Any]) -> InboundMessage:
    batch = whatsapp.normalize(body, NOW)
    assert len(batch.events) == 1, batch
    event = batch.events[0]
    assert isinstance(event, InboundMessage)
    # Whatever we produce must survive the wire.
    assert parse_inbound(event.model_dump_json()) == event
    return event


def test_text_message_is_keyed_by_line_and_wamid_with_e164_identity_and_name() -> None:
    event = only_message(wa_text("Hola", wamid="wamid.ABC", phone=PHONE))
    assert event.event_id == "wa:106540352242922:wamid.ABC"
    assert event.routing_key() == "inbound.whatsapp.message"
    assert event.identity.key == f"whatsapp:+{PHONE}"
    assert event.contact.name == "Sheena Nelson"
    assert event.contact.phone == f"+{PHONE}"
    assert event.text == "Hola"
    assert event.message_type == "text"
    assert event.line_id == "106540352242922"
    assert event.occurred_at == datetime.fromtimestamp(1749854575, tz=UTC)


def test_message_without_contact_name_still_becomes_an_event() -> None:
    event = only_message(wa_text(name=None))
    assert event.contact.name is None


def test_phone_withheld_user_is_identified_by_bsuid() -> None:
    body = wa_envelope(
        "1",
        {
            "contacts": [{"profile": {"name": "Ana"}, "user_id": "AR.9f8e7d"}],
            "messages": [
                {
                    "from_user_id": "AR.9f8e7d",
                    "id": "m1",
                    "timestamp": "1",
                    "type": "text",
                    "text": {"body": "hola"},
                }
            ],
        },
    )
    event = only_message(body)
    assert event.identity.external_id == "AR.9f8e7d"
    assert event.contact.phone is None
    assert event.contact.name == "Ana"


@pytest.mark.parametrize(
    ("message", "expected_type", "expected_text"),
    [
        (
            {"type": "image", "image": {"id": "9", "mime_type": "image/jpeg", "caption": "foto"}},
            "image",
            "foto",
        ),
        (
            {"type": "audio", "audio": {"id": "9", "mime_type": "audio/ogg", "voice": True}},
            "audio",
            None,
        ),
        (
            {
                "type": "document",
                "document": {"id": "9", "filename": "f.pdf", "mime_type": "application/pdf"},
            },
            "document",
            None,
        ),
        ({"type": "video", "video": {"id": "9"}}, "video", None),
        ({"type": "sticker", "sticker": {"id": "9", "animated": True}}, "sticker", None),
    ],
)
def test_media_messages_carry_an_attachment_with_the_media_id(
    message: dict[str, Any], expected_type: str, expected_text: str | None
) -> None:
    event = only_message(wa_message(PHONE, message))
    assert event.message_type == expected_type
    assert event.text == expected_text
    assert event.attachments[0].media_id == "9"
    assert event.attachments[0].kind == expected_type


def test_location_keeps_coordinates_as_floats() -> None:
    event = only_message(
        wa_message(
            PHONE,
            {
                "type": "location",
                "location": {
                    "latitude": -31.4,
                    "longitude": "-64.18",
                    "name": "Oficina",
                    "address": "Av. Colón 1",
                },
            },
        )
    )
    assert event.location is not None
    assert (event.location.latitude, event.location.longitude) == (-31.4, -64.18)
    assert event.location.address == "Av. Colón 1"


def test_interactive_button_and_list_replies_carry_the_choice_as_payload() -> None:
    button = only_message(
        wa_message(
            PHONE,
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "opt-1", "title": "Soporte"},
                },
            },
        )
    )
    assert (button.message_type, button.payload, button.text) == ("interactive", "opt-1", "Soporte")
    listed = only_message(
        wa_message(
            PHONE,
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "row-2", "title": "Ventas", "description": "x"},
                },
            },
        )
    )
    assert listed.payload == "row-2"


def test_flow_answers_stay_a_json_string_in_the_payload() -> None:
    event = only_message(
        wa_message(
            PHONE,
            {
                "type": "interactive",
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {
                        "response_json": '{"rating":"4"}',
                        "body": "Sent",
                        "name": "flow",
                    },
                },
            },
        )
    )
    assert event.payload == '{"rating":"4"}'


def test_interactive_without_interactive_object_is_kept_as_unsupported_with_raw() -> None:
    event = only_message(wa_message(PHONE, {"type": "interactive"}))
    assert event.message_type == "unsupported"
    assert event.raw["type"] == "interactive"


def test_template_quick_reply_button_points_at_the_template_message() -> None:
    event = only_message(
        wa_message(
            PHONE,
            {
                "type": "button",
                "context": {"from": "1", "id": "wamid.T"},
                "button": {"payload": "YES", "text": "Sí"},
            },
        )
    )
    assert (event.message_type, event.payload, event.text, event.reply_to) == (
        "button",
        "YES",
        "Sí",
        "wamid.T",
    )


def test_reaction_refers_to_the_reacted_message_and_empty_emoji_means_removed() -> None:
    added = only_message(
        wa_message(
            PHONE,
            {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "\u2764\ufe0f"}},
        )
    )
    assert (added.reply_to, added.text, added.payload) == ("wamid.X", "\u2764\ufe0f", "react")
    for reaction in ({"message_id": "wamid.X", "emoji": ""}, {"message_id": "wamid.X"}):
        removed = only_message(wa_message(PHONE, {"type": "reaction", "reaction": reaction}))
        assert (removed.text, removed.payload) == (None, "unreact")


def test_contacts_order_and_system_messages_keep_raw_and_a_readable_text() -> None:
    contacts = only_message(
        wa_message(
            PHONE,
            {
                "type": "contacts",
                "contacts": [
                    {
                        "name": {"formatted_name": "Chandler Bing"},
                        "phones": [{"phone": "+1 555-555-5555"}],
                    }
                ],
            },
        )
    )
    assert contacts.text == "Chandler Bing (+1 555-555-5555)"
    assert contacts.raw
    order = only_message(
        wa_message(
            PHONE, {"type": "order", "order": {"catalog_id": "1", "text": "", "product_items": []}}
        )
    )
    assert order.message_type == "order" and order.raw
    system = only_message(
        wa_message(
            PHONE,
            {
                "type": "system",
                "system": {
                    "body": "User changed number",
                    "type": "user_changed_number",
                    "wa_id": "5491166660000",
                },
            },
        )
    )
    assert (system.message_type, system.payload) == ("system", "user_changed_number")


def test_revoke_and_edit_point_at_the_original_message() -> None:
    revoke = only_message(
        wa_message(PHONE, {"type": "revoke", "revoke": {"original_message_id": "wamid.O"}})
    )
    assert (revoke.message_type, revoke.reply_to) == ("revoke", "wamid.O")
    edit = only_message(
        wa_message(
            PHONE,
            {
                "type": "edit",
                "edit": {
                    "original_message_id": "wamid.O",
                    "message": {"type": "text", "text": {"body": "corregido"}},
                },
            },
        )
    )
    assert (edit.message_type, edit.reply_to, edit.text) == ("edit", "wamid.O", "corregido")


@pytest.mark.parametrize("kind", ["unsupported", "poll", "brand_new_type"])
def test_unknown_types_are_unsupported_events_with_the_raw_item(kind: str) -> None:
    event = only_message(wa_message(PHONE, {"type": kind, "errors": [{"code": 131051}]}))
    assert event.message_type == "unsupported"
    assert event.raw["type"] == kind


def test_reply_context_becomes_reply_to() -> None:
    body = wa_message(
        PHONE, {"type": "text", "text": {"body": "sí"}, "context": {"from": "1", "id": "wamid.Q"}}
    )
    assert only_message(body).reply_to == "wamid.Q"


def test_statuses_become_delivery_statuses_never_messages() -> None:
    body = wa_envelope(
        "1",
        {
            "statuses": [
                {
                    "id": "wamid.OUT",
                    "status": "delivered",
                    "timestamp": "1700000000",
                    "recipient_id": PHONE,
                },
                {
                    "id": "wamid.OUT",
                    "status": "failed",
                    "timestamp": "1700000001",
                    "recipient_id": PHONE,
                    "errors": [{"code": 131047, "title": "Re-engagement message"}],
                },
                {
                    "id": "wamid.OUT",
                    "status": "deleted",
                    "timestamp": "1700000001",
                    "recipient_id": PHONE,
                },
            ]
        },
    )
    batch = whatsapp.normalize(body, NOW)
    assert [type(e) for e in batch.events] == [DeliveryStatus, DeliveryStatus]
    delivered, failed = batch.events
    assert isinstance(delivered, DeliveryStatus) and isinstance(failed, DeliveryStatus)
    assert delivered.event_id == "wa-st:wamid.OUT:delivered"
    assert delivered.routing_key() == "inbound.whatsapp.status"
    assert delivered.identity.external_id == f"+{PHONE}"
    assert failed.errors[0]["code"] == 131047
    assert batch.skipped == ["status without id, recipient or known state"]


def test_batched_body_with_many_entries_changes_messages_and_statuses_gives_one_event_each() -> (
    None
):
    body = json.loads((FIXTURES / "whatsapp_batch.json").read_text())
    batch = whatsapp.normalize(body, NOW)
    ids = [e.event_id for e in batch.events]
    assert ids == [
        "wa:111:wamid.A1",
        "wa:111:wamid.A2",
        "wa-st:wamid.OUT1:read",
        "wa:222:wamid.B1",
    ]
    names = [e.contact.name for e in batch.events if isinstance(e, InboundMessage)]
    assert names == ["Ana", "Beto", "Carla"]
    assert batch.ignored == 2  # a message echo and a non-messages field


def test_one_bad_item_does_not_fail_the_batch() -> None:
    body = wa_envelope(
        "1",
        {
            "messages": [
                "nope",
                {"type": "text"},
                {"id": "ok", "from": PHONE, "type": "text", "text": {"body": "hi"}},
            ]
        },
    )
    batch = whatsapp.normalize(body, NOW)
    assert [e.event_id for e in batch.events] == ["wa:1:ok"]
    assert len(batch.skipped) == 2


def test_an_unencodable_message_is_skipped_and_the_rest_kept() -> None:
    """A lone surrogate is valid JSON but cannot be published: that item is skipped."""
    body = wa_envelope(
        "1",
        {
            "messages": [
                {"id": "a", "from": PHONE, "type": "text", "text": {"body": "antes"}},
                {"id": "bad", "from": PHONE, "type": "text", "text": {"body": "\ud800x"}},
                {"id": "c", "from": PHONE, "type": "text", "text": {"body": "después"}},
            ]
        },
    )
    batch = whatsapp.normalize(json.loads(json.dumps(body)), NOW)
    assert [e.event_id for e in batch.events] == ["wa:1:a", "wa:1:c"]
    assert batch.skipped == ["message: not encodable (PydanticSerializationError)"]


def test_other_fields_are_ignored_without_events() -> None:
    batch = whatsapp.normalize(wa_envelope("1", {"statuses": []}, field="account_update"), NOW)
    assert batch.events == [] and batch.ignored == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"entry": {}},
    ],
)
def test_bodies_that_are_not_whatsapp_webhooks_are_schema_errors(body: Any) -> None:
    with pytest.raises(InvalidPayload):
        whatsapp.normalize(body, NOW)


MESSAGES: dict[str, dict[str, Any]] = channel_fixture("whatsapp/messages.json")
# Each scenario of tests/fixtures/channels/whatsapp/messages.json and the type it becomes.
MESSAGE_TYPES = {
    "text": "text",
    "text_reply": "text",
    "text_forwarded": "text",
    "text_forwarded_many_times": "text",
    "text_from_ad": "text",
    "image": "image",
    "image_with_url": "image",
    "video": "video",
    "document": "document",
    "audio": "audio",
    "voice": "audio",
    "sticker": "sticker",
    "animated_sticker": "sticker",
    "location_chosen": "location",
    "location_current": "location",
    "contacts": "contacts",
    "button_reply": "interactive",
    "list_reply": "interactive",
    "flow_completion": "interactive",
    "interactive_without_object": "unsupported",
    "template_quick_reply": "button",
    "reaction": "reaction",
    "unreaction_empty": "reaction",
    "unreaction_no_emoji": "reaction",
    "order": "order",
    "system_number_changed": "system",
    "unsupported": "unsupported",
    "unknown_type": "unsupported",
    "revoke": "revoke",
    "edit": "edit",
    "phone_withheld": "text",
}


def test_the_fixtures_cover_every_message_type_the_platform_knows() -> None:
    assert set(MESSAGE_TYPES) == set(MESSAGES)
    known = set(get_args(InboundMessage.model_fields["message_type"].annotation))
    produced = set(MESSAGE_TYPES.values())
    # Messenger-only kinds are covered by its own fixtures.
    assert known - produced <= {"postback"}, known - produced


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_every_message_fixture_maps_to_its_type(name: str) -> None:
    event = only_message(MESSAGES[name])
    assert event.message_type == MESSAGE_TYPES[name]
    message = MESSAGES[name]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert event.event_id == f"wa:109876543210987:{message['id']}"
    assert event.external_message_id == message["id"]


def test_message_fixture_details_survive_normalization() -> None:
    assert only_message(MESSAGES["text"]).contact.name == "Marta Gómez"
    assert only_message(MESSAGES["text"]).identity.external_id == "+5493515550101"
    assert only_message(MESSAGES["text_reply"]).reply_to == "wamid.OUTBOUND0001"
    assert only_message(MESSAGES["unreaction_no_emoji"]).payload == "unreact"
    assert only_message(MESSAGES["unreaction_empty"]).payload == "unreact"
    assert only_message(MESSAGES["reaction"]).payload == "react"
    assert only_message(MESSAGES["document"]).attachments[0].filename == "factura-noviembre.pdf"
    assert only_message(MESSAGES["image_with_url"]).attachments[0].url
    location = only_message(MESSAGES["location_chosen"]).location
    assert location is not None and location.name == "Plaza San Martín"
    assert only_message(MESSAGES["list_reply"]).payload == "plan_300"
    assert only_message(MESSAGES["template_quick_reply"]).payload == "CONFIRMAR_VISITA"
    assert only_message(MESSAGES["contacts"]).text == "Raúl Díaz (+54 9 351 555-0202)"
    assert only_message(MESSAGES["edit"]).text == "Hola, se me cortó internet desde anoche"
    withheld = only_message(MESSAGES["phone_withheld"])
    assert (withheld.identity.external_id, withheld.contact.phone) == (
        "AR.555000111222333444",
        None,
    )


STATUSES: dict[str, dict[str, Any]] = channel_fixture("whatsapp/statuses.json")


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_every_status_fixture_gives_one_delivery_status(name: str) -> None:
    batch = whatsapp.normalize(STATUSES[name], NOW)
    assert batch.skipped == []
    [event] = batch.events
    assert isinstance(event, DeliveryStatus)
    assert parse_inbound(event.model_dump_json()) == event
    expected = "delivered" if name == "with_biz_opaque_data" else name
    assert event.status == expected
    assert event.event_id.startswith("wa-st:wamid.OUTBOUND")
    if name == "failed":
        assert event.errors[0]["code"] == 131047


@pytest.mark.parametrize("name", sorted(channel_fixture("whatsapp/echoes.json")))
def test_message_echoes_are_never_customer_messages(name: str) -> None:
    batch = whatsapp.normalize(channel_fixture("whatsapp/echoes.json")[name], NOW)
    assert (batch.events, batch.skipped, batch.ignored) == ([], [], 1)


@pytest.mark.parametrize("name", sorted(channel_fixture("whatsapp/other_fields.json")))
def test_fields_other_than_messages_are_acknowledged_and_ignored(name: str) -> None:
    batch = whatsapp.normalize(channel_fixture("whatsapp/other_fields.json")[name], NOW)
    assert (batch.events, batch.skipped, batch.ignored) == ([], [], 1)


def test_fixture_batch_gives_every_message_and_status_of_every_entry_in_order() -> None:
    batch = whatsapp.normalize(channel_fixture("whatsapp/batch.json"), NOW)
    assert batch.skipped == []
    assert [e.event_id for e in batch.events] == [
        "wa:109876543210987:wamid.BATCH0001",
        "wa:109876543210987:wamid.BATCH0002",
        "wa:109876543210987:wamid.BATCH0003",
        "wa-st:wamid.OUTBOUND0020:delivered",
        "wa-st:wamid.OUTBOUND0020:read",
        "wa:109876543210555:wamid.BATCH0004",
    ]
    names = [e.contact.name for e in batch.events if isinstance(e, InboundMessage)]
    assert names == ["Marta Gómez", "Raúl Díaz", "Marta Gómez", "Luisa Pérez"]
    assert batch.ignored == 1  # the account_update change


def test_fixture_file_exists() -> None:
    assert Path(FIXTURES / "whatsapp_batch.json").exists()


def test_errors_meta_reports_inside_a_webhook_are_kept_for_counting_not_dropped() -> None:
    """Meta's `value.errors` (the webhook itself) and a message's own `errors` (e.g. 131051,
    a type the Cloud API does not support) are read: counted and logged by the handler."""
    body = wa_text("hola")
    value = body["entry"][0]["changes"][0]["value"]
    value["errors"] = [
        {
            "code": 131000,
            "title": "Something went wrong",
            "message": "Something went wrong",
            "error_data": {"details": "Message failed to send because of an unknown error."},
        }
    ]
    value["messages"].append(
        {
            "from": "5491155550000",
            "id": "wamid.unsupported1",
            "timestamp": "1749854575",
            "type": "unsupported",
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                }
            ],
        }
    )
    batch = whatsapp.normalize(body, NOW)
    assert [(e["code"], e["where"]) for e in batch.provider_errors] == [
        ("131000", "value"),
        ("131051", "message"),
    ]
    assert batch.provider_errors[1]["message"] == "Message type is currently not supported."
    assert len(batch.events) == 2  # the messages still become events
