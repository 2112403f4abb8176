"""Which consultation answers are sent, and which connector reports apply."""

from __future__ import annotations

from services.tickets.domain import answer_delivery_for, reply_status_applies, whatsapp_identity


def test_email_and_whatsapp_answers_are_sent_a_phone_call_is_not() -> None:
    assert answer_delivery_for("email") == "pending"
    assert answer_delivery_for("whatsapp") == "pending"
    assert answer_delivery_for("phone") == "not_sent"


def test_a_report_applies_only_to_the_current_answer_and_only_once() -> None:
    assert reply_status_applies("m2", "pending", "m2", "sent")
    assert not reply_status_applies("m2", "pending", "m1", "sent")  # superseded answer
    assert not reply_status_applies("m2", "sent", "m2", "sent")  # redelivered report


def test_the_phone_a_customer_typed_becomes_e164() -> None:
    assert whatsapp_identity("+54 9 11 1234-5678") == "+5491112345678"
    assert whatsapp_identity("(011) 4555-0000") == "+01145550000"
