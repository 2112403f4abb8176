"""Reports for supervisors (issue 27), pure: what each event adds to the report counters
(the reports read back from them: `report_rows.py`).

The read model never scans conversations per request. Each event adds to a few small
documents (a `Slot`): per day, hour and channel (`hours`), per day, person and channel
(`people`), Lara's handovers per day, channel and reason (`handovers`), and technical
services and consultations per day and channel (`work`). Durations that need percentiles
(first response, handle time, time to confirmation) are kept as the list of seconds of that
slot, so a median over a month reads one document per person and day.

Days and hours are the deployment's time zone (`settings.tz`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from shared.contracts import ConsultationEvent, ConversationEvent, TicketEvent

PERSON_PREFIXES = ("agent:", "staff:", "admin:")
LARA = "lara"
NO_REASON = "sin motivo"
PORTAL = "portal"  # consultations come from the customer portal, not a chat channel
NO_CHANNEL = "sin canal"

HOURS, PEOPLE, HANDOVERS, WORK = "hours", "people", "handovers", "work"


def is_person(actor: str | None) -> TypeGuard[str]:
    return actor is not None and actor.startswith(PERSON_PREFIXES)


def local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz)


def day_of(at: datetime, tz: ZoneInfo) -> str:
    return local(at, tz).date().isoformat()


@dataclass(frozen=True)
class Slot:
    """One counters document: its kind and the fields that name it (its `_id` joins them)."""

    kind: str
    key: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        return "|".join(str(v) for _, v in self.key)

    def fields(self) -> dict[str, Any]:
        return dict(self.key)


def hour_slot(at: datetime, channel: str, tz: ZoneInfo) -> Slot:
    moment = local(at, tz)
    return Slot(
        HOURS,
        (
            ("day", moment.date().isoformat()),
            ("hour", moment.hour),
            ("channel", channel),
            ("weekday", moment.weekday()),
        ),
    )


def person_slot(at: datetime, person: str, channel: str, tz: ZoneInfo) -> Slot:
    return Slot(PEOPLE, (("day", day_of(at, tz)), ("person", person), ("channel", channel)))


def work_slot(at: datetime, channel: str, tz: ZoneInfo) -> Slot:
    return Slot(WORK, (("day", day_of(at, tz)), ("channel", channel)))


@dataclass
class Tally:
    """What a batch of events adds: counts and duration samples per slot."""

    counts: dict[Slot, Counter[str]] = field(default_factory=dict)
    samples: dict[Slot, dict[str, list[int]]] = field(default_factory=dict)

    def add(self, slot: Slot, name: str, n: int = 1) -> None:
        self.counts.setdefault(slot, Counter())[name] += n

    def sample(self, slot: Slot, name: str, seconds: float) -> None:
        self.samples.setdefault(slot, {}).setdefault(name, []).append(max(0, round(seconds)))

    def slots(self) -> list[Slot]:
        return list(dict.fromkeys([*self.counts, *self.samples]))

    def __bool__(self) -> bool:
        return bool(self.counts or self.samples)


# --------------------------------------------------------------- conversations


@dataclass(frozen=True)
class Facts:
    """What the model remembers of one conversation, to time its first response and its
    handling and to tell whether a person ever took part (before the event at hand)."""

    opened_at: datetime | None = None
    waiting_since: datetime | None = None  # first moment it waited for a person
    person_since: datetime | None = None  # first moment a person held it
    first_reply_at: datetime | None = None  # first message a person sent
    persons: tuple[str, ...] = ()

    def after(self, change: FactsChange) -> Facts:
        """These facts once `change` is added (as the store's `$min` and `$addToSet` do)."""

        def earliest(a: datetime | None, b: datetime | None) -> datetime | None:
            return min(a, b) if a is not None and b is not None else a or b

        return Facts(
            opened_at=earliest(self.opened_at, change.opened_at),
            waiting_since=earliest(self.waiting_since, change.waiting_since),
            person_since=earliest(self.person_since, change.person_since),
            first_reply_at=earliest(self.first_reply_at, change.first_reply_at),
            persons=tuple(dict.fromkeys([*self.persons, *change.persons])),
        )


@dataclass(frozen=True)
class FactsChange:
    """The facts an event adds: earliest moments win, people accumulate (order-tolerant)."""

    opened_at: datetime
    channel: str
    waiting_since: datetime | None
    person_since: datetime | None
    first_reply_at: datetime | None
    persons: tuple[str, ...]


def actions_of(event: ConversationEvent) -> list[str]:
    return list(event.actions or [event.action])


def facts_change(event: ConversationEvent) -> FactsChange:
    conv, at, actions = event.conversation, event.occurred_at, actions_of(event)
    holder = conv.holder
    persons = tuple(dict.fromkeys(p for p in (holder, event.actor) if is_person(p)))
    return FactsChange(
        opened_at=conv.opened_at,
        channel=conv.channel,
        waiting_since=at if holder != LARA and conv.status == "abierta" else None,
        person_since=at if is_person(holder) else None,
        first_reply_at=at if "message_sent" in actions and is_person(event.actor) else None,
        persons=persons,
    )


def handover_reasons(event: ConversationEvent) -> list[str]:
    """Why Lara (or the IVR) handed over, as routing words it: `change` when it says, else
    the first sentence of the note ("El cliente pidió hablar con una persona; ...")."""
    if event.change:
        return [event.change]
    note = (event.note or "").strip()
    if not note:
        return [NO_REASON]
    first = note.split(". ", 1)[0].rstrip(".")
    if first.startswith("El cliente "):
        first = first[len("El cliente ") :]
    reasons = [r.strip()[:120] for r in first.split(";") if r.strip()]
    return reasons or [NO_REASON]


def conversation_tally(event: ConversationEvent, before: Facts, tz: ZoneInfo, tally: Tally) -> None:
    """Add one conversation event (counted once: the caller dedupes on `event_id`)."""
    conv, at, actor = event.conversation, event.occurred_at, event.actor
    channel, holder = conv.channel, conv.holder
    actions = actions_of(event)
    hours = hour_slot(at, channel, tz)

    def person(who: str) -> Slot:
        return person_slot(at, who, channel, tz)

    for action in actions:
        if action == "opened":
            tally.add(hours, "opened")
        elif action == "message_received":
            tally.add(hours, "inbound")
        elif action == "taken" and is_person(actor):
            tally.add(person(actor), "taken")
        elif action in ("assigned", "reassigned") and is_person(holder):
            tally.add(person(str(holder)), "taken")
        elif action == "returned" and is_person(actor):
            tally.add(person(actor), "returned")
        elif action == "escalated":
            if is_person(actor):
                tally.add(person(actor), "escalated")
            else:
                tally.add(hours, "handovers")
                for reason in handover_reasons(event):
                    slot = Slot(
                        HANDOVERS,
                        (("day", hours.fields()["day"]), ("channel", channel), ("by", actor),
                         ("reason", reason)),
                    )  # fmt: skip
                    tally.add(slot, "count")
        elif action == "status_changed" and event.change == "first_response_missed":
            tally.add(hours, "first_response_missed")
        elif action == "status_changed" and event.change == "satisfaction_answered":
            if conv.satisfaction is not None:  # counted on the day it was answered
                tally.add(hours, "csat_answers")
                tally.add(hours, "csat_points", conv.satisfaction.score)
        elif action == "hold_reminder":
            waiting = holder if is_person(holder) else (event.note or "").split(":", 1)[0]
            if is_person(waiting):
                tally.add(person(waiting), "hold_reminders")
        elif action == "message_sent" and is_person(actor) and before.first_reply_at is None:
            start = before.waiting_since or before.person_since or before.opened_at
            start = start or conv.opened_at
            tally.sample(person(actor), "first_response", (at - start).total_seconds())
        elif action == "closed":
            tally.add(hours, "closed")
            if not before.persons and not is_person(holder):
                tally.add(hours, "lara_resolved")
            if is_person(actor):
                tally.add(person(actor), "closed")
                if before.person_since is not None:
                    seconds = (at - before.person_since).total_seconds()
                    tally.sample(person(actor), "handle", seconds)


# ------------------------------------------------------------------ tickets


def ticket_tally(event: TicketEvent, tz: ZoneInfo, tally: Tally) -> None:
    service = event.service
    if service is None:
        return  # a sales call: not a technical service
    channel = service.channel or NO_CHANNEL
    if event.action == "created":
        tally.add(work_slot(service.created_at, channel, tz), "services_created")
    elif event.action == "confirmed":
        when = service.confirmed_at or event.occurred_at
        slot = work_slot(when, channel, tz)
        tally.add(slot, "services_confirmed")
        tally.sample(slot, "confirm_seconds", (when - service.created_at).total_seconds())
    elif event.action == "cancelled":
        when = service.cancelled_at or event.occurred_at
        tally.add(work_slot(when, channel, tz), "services_cancelled")


def consultation_tally(event: ConsultationEvent, tz: ZoneInfo, tally: Tally) -> None:
    c = event.consultation
    if event.action == "created":
        tally.add(work_slot(c.created_at, PORTAL, tz), "consultations_created")
    elif event.action == "answered":
        when = c.answered_at or event.occurred_at
        slot = work_slot(when, PORTAL, tz)
        tally.add(slot, "consultations_answered")
        tally.sample(slot, "answer_seconds", (when - c.created_at).total_seconds())
    elif event.action == "closed":
        tally.add(work_slot(c.closed_at or event.occurred_at, PORTAL, tz), "consultations_closed")
    elif event.action == "converted":
        tally.add(work_slot(event.occurred_at, PORTAL, tz), "consultations_converted")
