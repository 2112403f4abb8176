"""Who may start a Print now: a bound per user and one overall, and the worker processes.

Rendering a PDF of thousands of rows is CPU work measured in seconds. In the serving
process it would hold the interpreter (a thread still holds the GIL), so webhooks and
consumers would wait behind it; it runs in a small process pool instead. Each running
Print also holds its rows in memory: the number running at once is bounded per user and
overall, and a Print over either bound is refused at once (429) rather than queued, so
a burst of Prints can never pile up work or memory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from services.exports.metrics import PRINTS_REFUSED, PRINTS_RUNNING
from shared.config import Settings

T = TypeVar("T")


class PrintBusy(Exception):
    """Too many Prints are running (for this user or overall); the message says which."""


class PrintSlots:
    def __init__(self, per_user: int, overall: int, workers: int) -> None:
        self.per_user = max(per_user, 1)
        self.overall = max(overall, 1)
        self.workers = max(workers, 1)
        self._running: Tally[str] = Tally()
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrintSlots:
        return cls(
            per_user=settings.print_max_per_user,
            overall=settings.print_max_concurrent,
            workers=settings.print_workers,
        )

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @contextmanager
    def claim(self, user_id: str) -> Iterator[None]:
        """A slot for one Print of `user_id`, or PrintBusy. Checked and taken without an
        await in between, so two requests cannot both take the last slot."""
        if self._running[user_id] >= self.per_user:
            PRINTS_REFUSED.labels("user").inc()
            raise PrintBusy(
                f"you already have {self._running[user_id]} print(s) running (at most "
                f"{self.per_user} per user): wait for it to finish"
            )
        if self.running >= self.overall:
            PRINTS_REFUSED.labels("overall").inc()
            raise PrintBusy(
                f"{self.running} prints are running (at most {self.overall} at once): "
                "try again in a few seconds"
            )
        self._running[user_id] += 1
        PRINTS_RUNNING.inc()
        try:
            yield
        finally:
            self._running[user_id] -= 1
            if self._running[user_id] <= 0:
                del self._running[user_id]
            PRINTS_RUNNING.dec()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker process (started on first use, `spawn`ed: no copy of
        the serving process's threads, sockets or event loop). A pool whose worker died
        (killed for memory, say) is replaced and the work tried once more."""
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:
                pool = self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            except BrokenProcessPool:
                if self._pool is pool:
                    self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
