"""Failed-credential throttling: a client that keeps presenting bad credentials is refused.

Counted per client address and per credential (staff JWT, portal token, web chatbot token,
Meta verify token, webhook signature), in fixed windows of `auth_failure_window_seconds`:
at `auth_failure_limit` failures the client gets 429 for that credential until the window
ends. Memory is bounded: at most `MAX_TRACKED` clients are tracked; past that, expired
windows are dropped first, then the oldest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import Counter

MAX_TRACKED = 50_000

AUTH_FAILURES = Counter(
    "cc_auth_failures_total",
    "Requests refused for a missing or bad credential, by credential",
    ["credential"],
)
AUTH_THROTTLED = Counter(
    "cc_auth_throttled_total",
    "Requests refused with 429 because their client failed too often, by credential",
    ["credential"],
)


@dataclass
class _Window:
    started: float
    failures: int


class FailureThrottle:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._windows: dict[tuple[str, str], _Window] = {}

    def retry_after(self, source: str, credential: str) -> float:
        """Seconds this client must wait before trying `credential` again; 0 when it may."""
        win = self._windows.get((source, credential))
        if win is None:
            return 0.0
        left = win.started + self.window - time.monotonic()
        if left <= 0:
            del self._windows[(source, credential)]
            return 0.0
        return left if win.failures >= self.limit else 0.0

    def throttled(self, credential: str) -> None:
        AUTH_THROTTLED.labels(credential).inc()

    def failed(self, source: str, credential: str) -> None:
        AUTH_FAILURES.labels(credential).inc()
        now = time.monotonic()
        key = (source, credential)
        win = self._windows.get(key)
        if win is None or now - win.started >= self.window:
            if len(self._windows) >= MAX_TRACKED:
                self._forget(now)
            self._windows[key] = _Window(now, 1)
        else:
            win.failures += 1

    def _forget(self, now: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= self.window]
        for key in expired:
            del self._windows[key]
        while len(self._windows) >= MAX_TRACKED:
            del self._windows[next(iter(self._windows))]
