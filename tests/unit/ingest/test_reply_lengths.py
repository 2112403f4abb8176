"""Replies within the providers' length limits (issue 25): Messenger text at most 2,000
characters, a WhatsApp caption at most 1,024; a longer reply goes as ordered parts."""

from __future__ import annotations

from datetime import timedelta

from services.ingest.outbound import messenger, whatsapp
from services.ingest.outbound.channels import MessengerSender
from services.ingest.outbound.graph import GraphClient
from services.ingest.outbound.outcome import Refused
from services.ingest.outbound.text import MESSENGER_TEXT_MAX, WHATSAPP_CAPTION_MAX, split_text
from shared.contracts.base import Identity, utcnow
from shared.contracts.conversation import OutboundMessage
from shared.contracts.inbound import Attachment
from tests.settings import isolated_settings

PARAGRAPH = "Revisamos su conexión y encontramos una falla en la zona. " * 20


def _message(channel: str, text: str, media: list[Attachment] | None = None) -> OutboundMessage:
    return OutboundMessage(
        conversation_id="c1",
        channel=channel,
        identity=Identity(channel=channel, external_id="5491155550000"),
        text=text,
        author="staff:ana",
        media=media or [],
    )


def test_a_long_text_is_split_where_a_reader_pauses_and_nothing_is_lost() -> None:
    text = "\n\n".join([PARAGRAPH.strip()] * 4)  # four paragraphs of ~1,160 characters
    parts = split_text(text, MESSENGER_TEXT_MAX)
    assert parts == [PARAGRAPH.strip()] * 4  # two do not fit in one part: cut between them
    sentences = split_text(PARAGRAPH * 3, MESSENGER_TEXT_MAX)  # one paragraph: by sentences
    assert all(len(p) <= MESSENGER_TEXT_MAX and p.endswith(".") for p in sentences)
    assert " ".join(sentences) == (PARAGRAPH * 3).strip()


def test_a_text_with_no_boundary_is_cut_at_the_limit() -> None:
    assert [len(p) for p in split_text("x" * 4500, 2000)] == [2000, 2000, 500]


def test_a_short_text_is_one_part() -> None:
    assert split_text("  Hola  ", 2000) == ["Hola"]


def test_a_long_messenger_reply_goes_as_ordered_parts_within_2000() -> None:
    text = (PARAGRAPH * 3)[:4000]
    bodies = messenger.parts(_message("messenger", text), human_agent=False)
    sent = [b["message"]["text"] for b in bodies]
    assert len(sent) == 2 and all(len(t) <= MESSENGER_TEXT_MAX for t in sent)
    assert " ".join(" ".join(sent).split()) == " ".join(text.split())


def test_a_whatsapp_text_too_long_for_a_caption_goes_before_the_image() -> None:
    image = Attachment(kind="image", url="https://example.com/a.jpg")
    text = PARAGRAPH[:1500]
    bodies = whatsapp.parts(_message("whatsapp", text, [image]), None)
    assert [b["type"] for b in bodies] == ["text", "image"]
    assert bodies[0]["text"]["body"] == text and "caption" not in bodies[1]["image"]
    short = whatsapp.parts(_message("whatsapp", "Mire la foto", [image]), None)
    assert [b["type"] for b in short] == ["image"]
    assert short[0]["image"]["caption"] == "Mire la foto"
    assert len("x" * WHATSAPP_CAPTION_MAX) == 1024


def _messenger_sender() -> MessengerSender:
    # plan and fallback send nothing: the client is never used
    return MessengerSender(isolated_settings(), GraphClient("http://127.0.0.1:9", "v21.0", 1.0))


def test_a_messenger_reply_with_nothing_messenger_takes_is_refused_not_recorded_sent() -> None:
    empty = _message("messenger", "")
    empty.media = [Attachment(kind="sticker", url="https://example.com/s.webp")]
    refused = _messenger_sender().plan(empty, utcnow())
    assert isinstance(refused, Refused) and refused.reason == "empty"


def test_a_human_agent_reply_refused_for_the_window_is_not_sent_again_the_same_way() -> None:
    sender = _messenger_sender()
    closed = Refused("window_closed", "outside the allowed window", "window_closed")
    tagged = _message("messenger", "Le escribimos por su reclamo")
    tagged.customer_last_inbound_at = utcnow() - timedelta(days=3)  # went with HUMAN_AGENT
    assert sender.fallback(tagged, closed) is None
    fresh = _message("messenger", "Le escribimos por su reclamo")
    fresh.customer_last_inbound_at = utcnow() - timedelta(hours=1)  # went as RESPONSE
    [retry] = sender.fallback(fresh, closed) or []
    assert retry["tag"] == "HUMAN_AGENT"
