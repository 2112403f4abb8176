"""`contactcenter up` with a pymongo command listener, for the benchmark's bottleneck report.

Counts every database command the platform sends (by database without the namespace prefix,
collection and command) and the time it took, and writes them as JSON to the file named by
BENCH_DB_OPS_FILE when the process exits. Used by `bench.run`; never in production.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

from pymongo import monitoring

_counts: dict[str, int] = defaultdict(int)
_seconds: dict[str, float] = defaultdict(float)
_started: dict[int, tuple[str, float]] = {}
_prefix = os.environ.get("MONGO_DB_PREFIX", "")


def _key(event: monitoring.CommandStartedEvent) -> str:
    target = event.command.get(event.command_name)
    collection = target if isinstance(target, str) else ""
    database = event.database_name.removeprefix(_prefix)
    return f"{database}.{collection} {event.command_name}"


class _Listener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        key = _key(event)
        _counts[key] += 1
        _started[event.request_id] = (key, time.perf_counter())

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id)

    def _done(self, request_id: int) -> None:
        entry = _started.pop(request_id, None)
        if entry:
            _seconds[entry[0]] += time.perf_counter() - entry[1]


def _dump() -> None:
    path = os.environ.get("BENCH_DB_OPS_FILE")
    if not path:
        return
    report: dict[str, Any] = {
        key: {"count": count, "seconds": round(_seconds[key], 3)}
        for key, count in sorted(_counts.items(), key=lambda kv: -kv[1])
        if not key.startswith("admin.")
    }
    with open(path, "w") as f:
        json.dump(report, f, indent=2)


monitoring.register(_Listener())
atexit.register(_dump)

if __name__ == "__main__":
    from contactcenter.cli import main

    sys.exit(main(["up"]))
