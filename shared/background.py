"""Background work a service runs beside its consumers: relays, timers, gauges, repairs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from shared.logging import get_logger

log = get_logger("background")


async def repeat(work: Callable[[], Awaitable[object]], interval: float, what: str) -> None:
    """Run `work` every `interval` seconds until cancelled. A failure is logged and retried
    at the next tick: one broker or database hiccup must not end the loop for good."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("background_work_failed", work=what, error=str(exc))
        await asyncio.sleep(interval)


async def cancel(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait until each has stopped."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
