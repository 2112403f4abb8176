"""What routing and a bot engine exchange: the conversation so far (`Turn`) and the bot's
answer (`BotReply`). Engines (`lara.py`) and routing's use cases import these; the engine
factory (`bot.py`) imports the engines. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
