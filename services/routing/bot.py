"""The first responder's interface: routing asks a Bot what to answer in a Lara-held chat.

The engine is chosen by configuration (`LARA_ENGINE`); `services/routing/lara.py` provides
the default rule-based Lara. Pure: no I/O, so any engine is testable in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True)
class Turn:
    """One message of the conversation so far, as the bot sees it."""

    author: Literal["customer", "lara", "agent", "staff", "system"]
    text: str


@dataclass(frozen=True)
class BotReply:
    """What the bot wants: messages to send and, optionally, an escalation with its reason.

    The messages are sent and stored as they are: they are the bot's own words (FAQ
    answers mention "contraseña" and links), never a customer's secret, so they must not
    go through the secret masking. No messages and no escalation means: nothing to say
    (a reaction such as 👍).
    """

    messages: list[str] = field(default_factory=list)
    escalate: bool = False
    # Required when escalate is True; kept as the escalation's internal note for staff:
    # what the customer wants, what they wrote, what the bot already told them. It quotes
    # the customer's own words, so it is stored through the same secret masking as
    # customer text (unlike `messages`).
    escalation_note: str | None = None


class Bot(Protocol):
    def greet(self) -> BotReply:
        """The reply to a brand-new conversation (the configured welcome)."""
        ...

    def open_with(self, incoming: str) -> BotReply:
        """The reply to the message that opened the conversation: the welcome, plus an
        answer when that first message already asks something the bot can handle."""
        ...

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        """The reply to `incoming` (the customer's original text, unmasked; "" for media
        without a caption, the emoji for a reaction), given the conversation so far
        (oldest first, reactions included)."""
        ...


class WelcomeOnlyBot:
    """Minimal engine: greets, and hands everything else to a person."""

    def __init__(self, welcome: str) -> None:
        self.welcome = welcome

    def greet(self) -> BotReply:
        return BotReply(messages=[self.welcome])

    def open_with(self, incoming: str) -> BotReply:
        return self.greet()

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        return BotReply()


def build_bot(
    engine: str,
    welcome: str,
    faq_path: str | None = None,
    *,
    office_hours: str | None = None,
    tz: str = "America/Argentina/Buenos_Aires",
    clock: Callable[[], datetime] | None = None,
) -> Bot:
    """Factory used by routing's wiring; `lara.py` registers the rule-based engine.

    `office_hours` (the OFFICE_HOURS setting, read in `tz`) lets Lara tell a handed-over
    customer when a person will answer; an unreadable value fails here, at start-up.
    `clock` is injectable for tests (default: the system clock).
    """
    if engine == "welcome-only":
        return WelcomeOnlyBot(welcome)
    from services.routing.handover import OfficeHours, system_clock
    from services.routing.lara import RuleBasedLara

    office = OfficeHours.parse(office_hours, tz) if office_hours else None
    return RuleBasedLara(
        welcome=welcome, faq_path=faq_path, office=office, clock=clock or system_clock
    )
