"""The first responder's interface: routing asks a Bot what to answer in a Lara-held chat.

The engine is chosen by configuration (`LARA_ENGINE`); `services/routing/lara.py` provides
the default rule-based Lara. Pure: no I/O, so any engine is testable in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class Turn:
    """One message of the conversation so far, as the bot sees it."""

    author: Literal["customer", "lara", "agent", "staff", "system"]
    text: str


@dataclass(frozen=True)
class BotReply:
    """What the bot wants: messages to send and, optionally, an escalation with its reason."""

    messages: list[str] = field(default_factory=list)
    escalate: bool = False
    escalation_note: str | None = None  # required when escalate is True; kept as internal note


class Bot(Protocol):
    def greet(self) -> BotReply:
        """The reply to a brand-new conversation (the configured welcome)."""
        ...

    def open_with(self, incoming: str) -> BotReply:
        """The reply to the message that opened the conversation: the welcome, plus an
        answer when that first message already asks something the bot can handle."""
        ...

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        """The reply to `incoming`, given the conversation so far (oldest first)."""
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


def build_bot(engine: str, welcome: str, faq_path: str | None = None) -> Bot:
    """Factory used by routing's wiring; `lara.py` registers the rule-based engine."""
    if engine == "welcome-only":
        return WelcomeOnlyBot(welcome)
    try:
        from services.routing.lara import RuleBasedLara
    except ImportError:
        return WelcomeOnlyBot(welcome)
    return RuleBasedLara(welcome=welcome, faq_path=faq_path)
