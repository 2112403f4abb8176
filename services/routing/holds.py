"""Hold reminders: a durable timer over MongoDB that survives restarts.

When the holder of a conversation asks the customer to wait ("aguarde un momento"), the
contact structure wants a renewal every ~2 minutes. Routing calls `on_message` for every
message a human holder sends and runs `run()` as a background task with a `notify`
callback that publishes the reminder to the holder.

State: `hold_timers` (routing's store, `HoldTimerStore`), one document per conversation
waiting on its holder. Nothing lives in process memory, so a restarted process (or another
replica) fires what is due. A reminder is claimed with one write that moves `due_at`
forward by `reminder_seconds` and counts it: the wait keeps reminding every period, and of
any number of runners exactly one fires each reminder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.quality import is_hold_request
from services.routing.store import HoldTimerStore
from shared.mongo import Document

# conversation_id, holder, waiting since, how many reminders of this wait came before
Notify = Callable[[str, str, datetime, int], Awaitable[None]]

log = structlog.get_logger(__name__)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class HoldTimers:
    def __init__(self, db: AsyncDatabase[Document], reminder_seconds: float) -> None:
        self.store = HoldTimerStore(db)
        self.reminder_seconds = reminder_seconds

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.reminder_seconds)

    async def ensure_indexes(self) -> None:
        await self.store.ensure_indexes()

    async def on_message(self, conversation_id: str, holder: str, text: str, at: datetime) -> None:
        """A human holder wrote: arm a timer on a hold request, clear it otherwise.

        A hold request arms the timer at `at + reminder_seconds`; a repeated request
        ("aguarde un momento más") refreshes it and keeps the original `waiting_since`.
        Any other message from the holder ends the wait. Messages older than the last one
        seen for the conversation (a redelivery out of order) change nothing.
        """
        at = _utc(at)
        if is_hold_request(text):
            current = await self.store.get(conversation_id)
            new_wait = current is None or current.get("due_at") is None
            await self.store.arm(conversation_id, holder, at, at + self.period, new_wait=new_wait)
        else:
            await self.store.disarm(conversation_id, holder, at)

    async def on_closed(self, conversation_id: str) -> None:
        """A closed conversation waits for nobody."""
        await self.store.delete(conversation_id)

    async def waiting(self, conversation_id: str) -> Document | None:
        """The pending timer of a conversation, if its holder left the customer waiting."""
        return await self.store.waiting(conversation_id)

    async def fire_due(self, notify: Notify, now: datetime | None = None) -> int:
        """Fire every reminder due at `now` (default: the current time); how many fired.

        Each claim pushes `due_at` to `now + reminder_seconds` before `notify` runs, so a
        failing `notify` is retried one period later rather than in a tight loop, and a
        runner that was down for hours sends one reminder, not a burst.
        """
        now = _utc(now or datetime.now(UTC))
        fired = 0
        while True:
            timer = await self.store.claim_due(now, now + self.period)
            if timer is None:
                return fired
            fired += 1
            try:
                await notify(
                    timer["_id"], timer["holder"], timer["waiting_since"], timer["reminders_sent"]
                )
            except Exception:
                log.exception("hold_reminder_failed", conversation_id=timer["_id"])

    async def run(self, notify: Notify, poll_seconds: float = 1.0) -> None:
        """Fire due reminders forever (cancel the task to stop)."""
        while True:
            try:
                await self.fire_due(notify)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be briefly unreachable; the timers wait there for us.
                log.exception("hold_timers_poll_failed")
            await asyncio.sleep(poll_seconds)
