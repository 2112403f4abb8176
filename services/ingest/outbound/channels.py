"""One sender per way out: how a reply becomes request parts, and how each part is sent.

A `Sender` knows its channel's protocol and credentials; the delivery use case
(`delivery.py`) knows claiming, retries and outcomes, the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.ingest.outbound import messenger, whatsapp
from services.ingest.outbound.email import SmtpSender
from services.ingest.outbound.graph import GraphClient
from services.ingest.outbound.outcome import Outcome, Refused
from services.ingest.outbound.pacing import Limit
from shared.config import Settings
from shared.contracts.base import Event, utcnow
from shared.contracts.conversation import OutboundMessage, TemplateRef
from shared.contracts.delivery import ConsultationEmail
from shared.window import messenger_mode, whatsapp_mode

HUMAN_PREFIXES = ("staff:", "agent:")


def is_human(author: str) -> bool:
    return author.startswith(HUMAN_PREFIXES)


class Sender(Protocol):
    @property
    def channel(self) -> str: ...

    def limits(self, part: Any) -> list[Limit]:
        """The schedules this part is paced on, in the order they are taken (a recipient's
        before the sender's): keys carry no secret ("whatsapp:<phone_number_id>")."""

    def plan(self, message: Event, now: datetime) -> list[Any] | Refused:
        """The parts to send for this message, or a refusal decided before any call."""

    def fallback(self, message: Event, refused: Refused) -> list[Any] | None:
        """Other parts to try when the provider refused the first part (e.g. a template
        after WhatsApp's 131047 "window closed"), or None."""

    async def send(self, part: Any) -> Outcome: ...


@dataclass
class WhatsAppSender:
    settings: Settings
    graph: GraphClient
    channel: str = "whatsapp"

    def limits(self, part: Any) -> list[Limit]:
        """The pair rate to this recipient (131056), then the number's throughput: the
        tier, or the share of it replies may use."""
        number = self.settings.whatsapp_phone_number_id
        rate = self.settings.whatsapp_send_rate_per_second or self.settings.whatsapp_throughput_tier
        pair = Limit(
            f"pair:whatsapp:{number}:{part.get('to')}",
            self.settings.whatsapp_pair_interval_seconds,
            self.settings.whatsapp_pair_burst,
            "pair",
        )
        return [pair, Limit.per_second(f"whatsapp:{number}", rate)]

    def configured_template(self, text: str) -> TemplateRef | None:
        name = self.settings.whatsapp_template_name
        if not name:
            return None
        return TemplateRef(
            name=name,
            language=self.settings.whatsapp_template_language,
            parameters=[whatsapp.template_parameter(text)],
        )

    def plan(self, message: Event, now: datetime) -> list[Any] | Refused:
        assert isinstance(message, OutboundMessage)
        if message.template is not None:
            return whatsapp.parts(message, message.template)
        template = self.configured_template(message.text)
        mode = whatsapp_mode(message.customer_last_inbound_at, now, template is not None)
        if mode == "refused":
            return Refused(
                "window_closed",
                "more than 24 hours since the customer's last message and no template "
                "configured (WHATSAPP_TEMPLATE_NAME)",
                "window_closed",
            )
        return whatsapp.parts(message, template if mode == "template" else None)

    def fallback(self, message: Event, refused: Refused) -> list[Any] | None:
        assert isinstance(message, OutboundMessage)
        if refused.code != "131047" or message.template is not None:
            return None
        template = self.configured_template(message.text)
        return whatsapp.parts(message, template) if template else None

    async def send(self, part: Any) -> Outcome:
        token = self.settings.whatsapp_access_token or ""
        path = whatsapp.path(self.settings.whatsapp_phone_number_id or "")
        return await self.graph.send(path, token, part, whatsapp.message_id_of)


@dataclass
class MessengerSender:
    settings: Settings
    graph: GraphClient
    channel: str = "messenger"

    def limits(self, part: Any) -> list[Limit]:
        """Meta's Send API limits per Page by content: audio and video 10/s, everything
        else (text, links, reactions, stickers; images and files are not named) 300/s.
        Meta also throttles "too many messages to a single thread" without a figure: its
        refusal (613 and friends) is retried with backoff."""
        if messenger.attachment_type(part) in messenger.MEDIA_LIMITED:
            rate = self.settings.messenger_media_rate_per_second
            return [Limit.per_second("messenger:page:media", rate, "media")]
        rate = self.settings.messenger_text_rate_per_second
        return [Limit.per_second("messenger:page:text", rate, "text")]

    def plan(self, message: Event, now: datetime) -> list[Any] | Refused:
        assert isinstance(message, OutboundMessage)
        mode = messenger_mode(message.customer_last_inbound_at, now, is_human(message.author))
        if mode == "refused":
            return Refused(
                "window_closed",
                "outside Messenger's window: 24 hours since the customer's last message "
                "(7 days for a human with the HUMAN_AGENT tag)",
                "window_closed",
            )
        parts = messenger.parts(message, human_agent=mode == "human_agent")
        if not parts:  # recorded as sent, nothing would have gone out
            return Refused(
                "empty",
                "nothing Messenger can send: no text and no attachment of a kind it takes",
                "empty",
            )
        return parts

    def fallback(self, message: Event, refused: Refused) -> list[Any] | None:
        assert isinstance(message, OutboundMessage)
        # Meta said "outside the allowed window" for a reply we thought inside it: a human
        # may still answer with the HUMAN_AGENT tag, unless the refused reply already went
        # with it (the same request again would be refused again).
        # (The delivery use case tries a fallback once.)
        if refused.reason != "window_closed" or not is_human(message.author):
            return None
        sent_as = messenger_mode(message.customer_last_inbound_at, utcnow(), human=True)
        if sent_as == "human_agent":
            return None
        return messenger.parts(message, human_agent=True)

    async def send(self, part: Any) -> Outcome:
        token = self.settings.messenger_page_access_token or ""
        return await self.graph.send(messenger.PATH, token, part, messenger.message_id_of)


@dataclass
class EmailSender:
    settings: Settings
    channel: str = "email"

    def limits(self, part: Any) -> list[Limit]:
        return []  # the SMTP server throttles itself with 4xx answers

    def plan(self, message: Event, now: datetime) -> list[Any] | Refused:
        assert isinstance(message, ConsultationEmail)
        return [message]

    def fallback(self, message: Event, refused: Refused) -> list[Any] | None:
        return None

    async def send(self, part: Any) -> Outcome:
        return await SmtpSender(self.settings).send(part)


@dataclass
class ReadOnlySender:
    """Web chatbot and IVR have no way back to the customer: refused, never sent."""

    channel: str

    def limits(self, part: Any) -> list[Limit]:
        return []

    def plan(self, message: Event, now: datetime) -> list[Any] | Refused:
        return Refused("read_only_channel", f"{self.channel} is read-only: nothing is sent")

    def fallback(self, message: Event, refused: Refused) -> list[Any] | None:
        return None

    async def send(self, part: Any) -> Outcome:  # pragma: no cover - plan always refuses
        raise AssertionError("a read-only channel sends nothing")
