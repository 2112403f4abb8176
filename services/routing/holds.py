"""Hold reminders: a durable timer over MongoDB that survives restarts.

Interface used by routing's wiring; the detection and scheduling rules are implemented by
the Lara/quality work (issue 9). Routing calls `on_message` for every message a human
holder sends, and runs `run()` as a background task with a `notify` callback that publishes
the reminder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

Notify = Callable[[str, str, datetime], Awaitable[None]]  # conversation_id, holder, waiting since


class HoldTimers:
    COLLECTION = "hold_timers"

    def __init__(self, db: AsyncDatabase[Document], reminder_seconds: float) -> None:
        self.collection = db[self.COLLECTION]
        self.reminder_seconds = reminder_seconds

    async def ensure_indexes(self) -> None:
        return None

    async def on_message(self, conversation_id: str, holder: str, text: str, at: datetime) -> None:
        """A human holder wrote: arm a timer on a hold request, clear it otherwise."""
        return None

    async def on_closed(self, conversation_id: str) -> None:
        return None

    async def run(self, notify: Notify, poll_seconds: float = 1.0) -> None:
        """Fire due reminders forever (cancel the task to stop)."""
        return None
