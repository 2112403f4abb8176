"""The first responder's interface: routing asks a Bot what to answer in a Lara-held chat.

The engine is chosen by configuration (`LARA_ENGINE`); `services/routing/lara.py` provides
the default rule-based Lara. What a bot reads and answers (`Turn`, `BotReply`) lives in
`dialogue.py`, which engines import, so this factory can import the engines. Pure: no I/O,
so any engine is testable in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.routing.dialogue import BotReply, Turn
from services.routing.handover import OfficeHours, system_clock
from services.routing.lara import RuleBasedLara

__all__ = ["Bot", "BotReply", "Turn", "WelcomeOnlyBot", "build_bot"]


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
    """Factory used by routing's wiring: the welcome-only engine or the rule-based Lara.

    `office_hours` (the OFFICE_HOURS setting, read in `tz`) lets Lara tell a handed-over
    customer when a person will answer; an unreadable value fails here, at start-up.
    `clock` is injectable for tests (default: the system clock).
    """
    if engine == "welcome-only":
        return WelcomeOnlyBot(welcome)
    office = OfficeHours.parse(office_hours, tz) if office_hours else None
    return RuleBasedLara(
        welcome=welcome, faq_path=faq_path, office=office, clock=clock or system_clock
    )
