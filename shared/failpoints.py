"""Crash points for fault tests: `CC_FAILPOINT=<name>` makes the process exit at that point,
abruptly, as SIGKILL would (no cleanup, no flush). Unset in production: then a crash point
is one dictionary look-up. The fault tests use them to prove that a crash exactly there
loses nothing."""

from __future__ import annotations

import os


def crash_point(name: str) -> None:
    if os.environ.get("CC_FAILPOINT") == name:
        os._exit(137)
