"""Customer satisfaction (CSAT): one question when a person closes a conversation, and the
customer's answer, a score from 1 to 5.

The question is staged in the close's own write (`StaffActions.close`): the message, its
reply to the channel and the "satisfaction_asked" entry go with the change or not at all.
The customer's next message on that channel, within the window and while no other
conversation of theirs is open, is the answer when it reads as a score (`score_of`): it is
stored on the closed conversation in the inbound commit and opens nothing. Anything else
opens a new conversation, as always. Ids derive from the cause, so a redelivery adds
nothing, and what is counted is counted once the write is done (`Draft.on_written`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.routing import domain, metrics
from services.routing.timeline import Draft, derived_id
from shared.config import Settings
from shared.contracts import InboundMessage
from shared.mongo import Document
from shared.text import fold
from shared.window import messenger_mode, whatsapp_mode

# Who asks (and thanks), as the author of those messages.
SURVEY = "system:csat"

_WORDS = {"uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5}
_NUMBER = r"([1-5]|uno|una|dos|tres|cuatro|cinco)"
# "4", "un 4", "le doy un 5", "5 estrellas", "4/5", "4 de 5", "cinco puntos", "4!"
_SCORE = re.compile(
    r"^(?:(?:le\s+)?(?:doy|pongo)\s+)?(?:un\s+|una\s+)?" + _NUMBER + r"(?:\s*/\s*5|\s+de\s+5)?"
    r"(?:\s+(?:estrellas?|puntos?))?\s*[.!]*$"
)
_STARS = "⭐★🌟"


def score_of(text: str | None) -> int | None:
    """The score a customer's message gives (1-5), or None when it is not an answer:
    a number 1-5, alone or as "5 estrellas", "un 4", "4/5", or 1-5 stars ("⭐⭐⭐⭐")."""
    if not text:
        return None
    plain = " ".join(fold(text).replace("\ufe0f", "").split())
    if plain and all(c in _STARS or c == " " for c in plain):
        stars = sum(1 for c in plain if c in _STARS)
        return stars if 1 <= stars <= 5 else None
    match = _SCORE.match(plain)
    if match is None:
        return None
    number = match.group(1)
    return int(number) if number.isdigit() else _WORDS[number]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@dataclass(frozen=True)
class Survey:
    channels: frozenset[str]
    window: timedelta
    question: str
    thanks: str
    template_configured: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Survey:
        return cls(
            channels=settings.csat_channel_set,
            window=timedelta(hours=settings.csat_window_hours),
            question=settings.csat_question,
            thanks=settings.csat_thanks,
            template_configured=bool(settings.whatsapp_template_name),
        )

    @classmethod
    def off(cls) -> Survey:
        return cls(frozenset(), timedelta(0), "", "")

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    # --- the question ------------------------------------------------------------------

    def may_ask(self, doc: Document, now: datetime) -> bool:
        """On a channel that asks, once per conversation, of a customer not anonymized, and
        only when the channel still takes a message from the platform (the 24-hour window
        of WhatsApp, or its template; Messenger's 24 hours for a non-human author)."""
        channel = doc["channel"]
        if channel not in self.channels or channel in domain.READ_ONLY_CHANNELS:
            return False
        if doc.get("satisfaction_asked_at") or doc.get("customer_anonymized"):
            return False
        last = doc.get("last_inbound_at")
        last = _utc(last) if last else None
        if channel == "whatsapp":
            return whatsapp_mode(last, now, self.template_configured) != "refused"
        return messenger_mode(last, now, human=False) != "refused"

    def ask(self, draft: Draft, now: datetime) -> None:
        """Stage the question in the draft that closes the conversation."""
        if not self.may_ask(draft.doc, now):
            return
        question_id = derived_id(draft.id, "satisfaction", "question")
        draft.append_message(question_id, SURVEY, self.question, direction="outbound", survey=True)
        draft.send(question_id, SURVEY, self.question)
        draft.set(satisfaction_asked_at=now)
        draft.record(
            "status_changed",
            SURVEY,
            event_id=derived_id(draft.id, "satisfaction", "asked"),
            change="satisfaction_asked",
        )
        channel = draft.doc["channel"]
        draft.on_written.append(lambda: metrics.SATISFACTION_ASKED.labels(channel).inc())

    # --- the answer --------------------------------------------------------------------

    def awaiting(self, doc: Document, now: datetime) -> bool:
        """The conversation is closed, was asked, has no answer yet, and the window runs."""
        asked = doc.get("satisfaction_asked_at")
        return (
            self.enabled
            and doc.get("status") == domain.CLOSED
            and asked is not None
            and doc.get("satisfaction") is None
            and now - _utc(asked) < self.window
        )

    def answer(
        self,
        draft: Draft,
        msg: InboundMessage,
        masked: str | None,
        sealed: str | None,
        score: int,
        now: datetime,
    ) -> None:
        """Store the answer on the closed conversation, with the customer's message, and
        thank them (ids derived from the message: a redelivery adds nothing)."""
        draft.append_message(
            msg.event_id,
            "customer",
            masked,
            direction="inbound",
            at=msg.occurred_at.astimezone(UTC),
            message_type=msg.message_type,
            sealed=sealed,
            extra={"external_message_id": msg.external_message_id},
            survey=True,
        )
        draft.set(satisfaction={"score": score, "answered_at": now, "message_id": msg.event_id})
        draft.record("message_received", "customer", text=masked, audit=False)
        draft.record(
            "status_changed",
            "customer",
            event_id=derived_id(msg.event_id, "satisfaction", "answered"),
            note=f"{score}/5",
            change="satisfaction_answered",
        )
        if self.thanks:
            thanks_id = derived_id(msg.event_id, "satisfaction", "thanks")
            draft.append_message(thanks_id, SURVEY, self.thanks, direction="outbound", survey=True)
            draft.send(thanks_id, SURVEY, self.thanks)
        channel = draft.doc["channel"]
        draft.on_written.append(lambda: metrics.SATISFACTION_SCORE.labels(channel).observe(score))


def latest_closed(docs: list[Document]) -> dict[str, Document]:
    """Per identity, its most recently closed conversation: only its question is answered
    (a newer conversation, answered or not, voids an older question)."""
    latest: dict[str, Document] = {}
    for doc in docs:
        key = doc["identity_key"]
        if key not in latest or _utc(doc["closed_at"]) > _utc(latest[key]["closed_at"]):
            latest[key] = doc
    return latest
