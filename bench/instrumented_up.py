"""`contactcenter up` with a pymongo command listener, for the benchmark's bottleneck report.

Counts every database command the platform sends (by database without the namespace prefix,
collection and command) and the time it took, and the documents each write command wrote (by
collection, from the server's reply: inserted, modified, upserted or deleted), and writes them
as JSON to the file named by BENCH_DB_OPS_FILE when the process exits, and whenever it
receives SIGUSR1 (so the benchmark can take the difference between two moments). Used by
`bench.run`; never in production.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
from collections import defaultdict
from typing import Any

from pymongo import monitoring

_counts: dict[str, int] = defaultdict(int)
_seconds: dict[str, float] = defaultdict(float)
_started: dict[int, tuple[str, float]] = {}
_written: dict[str, int] = defaultdict(int)  # "database.collection" -> documents written
_writes: dict[int, str] = {}  # request id of a write command -> "database.collection"
_WRITE_COMMANDS = {"insert", "update", "delete", "findAndModify"}
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
        if event.command_name in _WRITE_COMMANDS:
            _writes[event.request_id] = key.split(" ", 1)[0]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        collection = _writes.pop(event.request_id, None)
        if collection is not None:
            _written[collection] += _documents_written(event.command_name, event.reply)
        self._done(event.request_id)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id)

    def _done(self, request_id: int) -> None:
        _writes.pop(request_id, None)
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
    report["documents_written"] = {
        key: count for key, count in sorted(_written.items(), key=lambda kv: -kv[1])
    }
    with open(path, "w") as f:
        json.dump(report, f, indent=2)


def _documents_written(command: str, reply: Any) -> int:
    """Documents a write command changed, as the server reports them (an update that
    matched but changed nothing wrote nothing)."""
    if command == "update":
        return int(reply.get("nModified", 0)) + len(reply.get("upserted") or [])
    if command == "findAndModify":
        last = reply.get("lastErrorObject") or {}
        return (
            1 if last.get("n") and (reply.get("value") is not None or last.get("upserted")) else 0
        )
    return int(reply.get("n", 0))  # insert, delete


monitoring.register(_Listener())
atexit.register(_dump)
signal.signal(signal.SIGUSR1, lambda _signum, _frame: _dump())

if __name__ == "__main__":
    from contactcenter.cli import main

    sys.exit(main(["up"]))
