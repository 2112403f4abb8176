"""The 24-hour customer-service window (shared rule) and routing's refusal of a reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.window import TemplateRequired, check_reply_window
from shared.window import messenger_mode, needs_template, whatsapp_mode

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_template_is_needed_after_24_hours_or_when_the_customer_never_wrote() -> None:
    assert not needs_template(NOW - timedelta(hours=23, minutes=59), NOW)
    assert needs_template(NOW - timedelta(hours=24), NOW)
    assert needs_template(None, NOW)


def test_whatsapp_sends_free_form_inside_template_outside_or_refuses_without_one() -> None:
    assert whatsapp_mode(NOW - timedelta(hours=1), NOW, False) == "free_form"
    assert whatsapp_mode(NOW - timedelta(days=2), NOW, True) == "template"
    assert whatsapp_mode(NOW - timedelta(days=2), NOW, False) == "refused"
    assert whatsapp_mode(None, NOW, False) == "free_form"  # unknown: Meta judges


def test_messenger_response_inside_human_agent_up_to_7_days_for_humans_only() -> None:
    assert messenger_mode(NOW - timedelta(hours=2), NOW, human=False) == "response"
    assert messenger_mode(NOW - timedelta(days=3), NOW, human=True) == "human_agent"
    assert messenger_mode(NOW - timedelta(days=3), NOW, human=False) == "refused"
    assert messenger_mode(NOW - timedelta(days=7), NOW, human=True) == "refused"


def test_staff_reply_on_whatsapp_after_24_hours_without_template_is_refused() -> None:
    with pytest.raises(TemplateRequired, match="template"):
        check_reply_window(
            "whatsapp",
            NOW - timedelta(days=1, seconds=1),
            NOW,
            template_given=False,
            template_configured=False,
        )


def test_staff_reply_passes_inside_the_window_or_with_a_template() -> None:
    old = NOW - timedelta(days=3)
    check_reply_window("whatsapp", NOW, NOW, template_given=False, template_configured=False)
    check_reply_window("whatsapp", old, NOW, template_given=True, template_configured=False)
    check_reply_window("whatsapp", old, NOW, template_given=False, template_configured=True)
    check_reply_window("messenger", old, NOW, template_given=False, template_configured=False)
    with pytest.raises(TemplateRequired):
        check_reply_window(
            "messenger",
            NOW - timedelta(days=8),
            NOW,
            template_given=False,
            template_configured=False,
        )
