"""First-response targets: how long a conversation that reached people may wait for the
first message a person sends (`FIRST_RESPONSE_TARGET_SECONDS`, per channel).

The clock starts when the conversation first leaves Lara's hands (her hand-over to the
agents' queue, an escalation, an assignment, a take, or a person's reply that takes it
over), in the same write as that change: `first_response` = {target_seconds, due_at,
answered_at, missed} on the conversation, and `first_response_pending` = due_at while
nobody answered and no miss was recorded (a sparse index finds the overdue ones).

A miss is recorded once per conversation, in a version-guarded write, by whichever comes
first: the sweep that runs every second on every replica (a conversation nobody answers
is a miss when its time is up, not when someone finally writes: the alert must fire while
customers wait), the late first reply, or the close of an unanswered overdue conversation.
The write that records it removes `first_response_pending`, so the others find nothing to
do; the metric is counted after that write (`Draft.on_written`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.routing import domain, metrics
from services.routing.store import Store
from services.routing.timeline import Draft, derived_id
from shared.config import Settings
from shared.mongo import Document

PENDING = "first_response_pending"
# "por vencer": less than this share of the target is left.
SOON_SHARE = 0.2
SWEEP_BATCH = 200
COMMIT_ROUNDS = 20

State = Literal["en_plazo", "por_vencer", "vencida"]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def state(doc: Document, now: datetime) -> State | None:
    """How an open conversation nobody answered yet stands against its target: `vencida`
    past the due time, `por_vencer` within the last 20 % of the target, else `en_plazo`;
    None when it has no target, was answered, or is closed."""
    first = doc.get("first_response")
    if not first or first.get("answered_at") or doc.get("status") == domain.CLOSED:
        return None
    left = (_utc(first["due_at"]) - now).total_seconds()
    if left <= 0:
        return "vencida"
    if left <= SOON_SHARE * float(first["target_seconds"]):
        return "por_vencer"
    return "en_plazo"


def _missed(draft: Draft, now: datetime) -> bool:
    """Settle a pending target at `now`: record the miss when it is overdue, and stop
    waiting. False when there was nothing pending (settled already)."""
    due = draft.doc.get(PENDING)
    if due is None:
        return False
    draft.doc.pop(PENDING)
    draft.unset.add(PENDING)
    if now < _utc(due):
        return False
    draft.set(first_response={**draft.doc["first_response"], "missed": True})
    draft.record(
        "status_changed",
        "system",
        event_id=derived_id(draft.id, "first_response", "missed"),
        change="first_response_missed",
    )
    channel = draft.doc["channel"]
    draft.on_written.append(lambda: metrics.FIRST_RESPONSE_MISSED.labels(channel).inc())
    return True


@dataclass(frozen=True)
class ResponseTargets:
    seconds: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> ResponseTargets:
        return cls(settings.first_response_targets)

    def reached_people(self, draft: Draft, now: datetime) -> None:
        """Start the clock the first time the open conversation is out of Lara's hands, on
        a channel with a target (never again: the target is the first response's)."""
        doc = draft.doc
        target = self.seconds.get(doc["channel"])
        if target is None or doc.get("first_response") or doc.get("first_human_response_at"):
            return
        if doc.get("status") == domain.CLOSED or domain.holder_kind(doc.get("holder")) == "lara":
            return
        due = now + timedelta(seconds=target)
        draft.set(
            first_response={
                "target_seconds": target,
                "due_at": due,
                "answered_at": None,
                "missed": False,
            },
            **{PENDING: due},
        )
        channel = doc["channel"]
        draft.on_written.append(lambda: metrics.FIRST_RESPONSE_DUE.labels(channel).inc())

    @staticmethod
    def answered(draft: Draft, now: datetime) -> None:
        """A person's first message: the target is met, or missed now if nothing else
        recorded the miss yet."""
        first = draft.doc.get("first_response")
        if not first or first.get("answered_at"):
            return
        draft.set(first_response={**first, "answered_at": now})
        _missed(draft, now)

    @staticmethod
    def closed(draft: Draft, now: datetime) -> None:
        """A conversation closed before anyone answered: a miss if it was overdue."""
        _missed(draft, now)

    @staticmethod
    async def sweep(store: Store, now: datetime) -> int:
        """Record the miss of every conversation whose first response is overdue; how many
        this call recorded (another replica's sweep may win some)."""
        docs = await store.first_responses_due(now, SWEEP_BATCH)
        if not docs:
            return 0
        written = await store.change(
            docs, lambda d: _missed(d, now), rounds=COMMIT_ROUNDS, flush=False
        )
        for draft in written:
            draft.written()
        await store.flush(written)
        return len(written)
