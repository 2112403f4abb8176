"""The write budget: documents the platform writes per inbound message, per collection.

On the embedded database the cost is per document written (an update touches every index of
its collection), so this is the figure that bounds the rate. Measured on a quiet platform
before the load steps, at a low rate, in two phases: first contacts (N new customers, each
opening a conversation), then repeat customers (the same N write `rounds` more messages
each, round after round: a conversation under way, as in the load steps). Between phases
the instrumented platform process dumps its counters (SIGUSR1, `bench/instrumented_up.py`);
the difference, divided by the messages of the phase, is the budget. The database server's
CPU over each phase is measured from /proc.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
import uuid
from typing import Any

import httpx

from bench.load import PHONE_NUMBER_ID, TEXTS, PlatformProcess, sign, whatsapp_webhook
from bench.probes import CpuMeter
from shared.config import Settings


async def _counters(proc: PlatformProcess) -> dict[str, Any]:
    """The platform's counters now: documents written by collection, commands by kind."""
    assert proc.process is not None and proc.db_ops_path is not None
    before = proc.db_ops_path.stat().st_mtime_ns if proc.db_ops_path.exists() else 0
    proc.process.send_signal(signal.SIGUSR1)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if proc.db_ops_path.exists() and proc.db_ops_path.stat().st_mtime_ns != before:
            try:
                return dict(json.loads(proc.db_ops_path.read_text()))
            except ValueError:
                continue  # caught mid-write
    raise RuntimeError("the platform did not dump its database counters")


def _difference(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, Any]:
    written_before = before.get("documents_written", {})
    written = {
        collection: round((count - written_before.get(collection, 0)) / n, 2)
        for collection, count in after.get("documents_written", {}).items()
        if count != written_before.get(collection, 0)
    }
    commands = sum(
        v["count"] - before.get(k, {}).get("count", 0)
        for k, v in after.items()
        if k != "documents_written"
    )
    return {
        "documents_written_per_message": round(sum(written.values()), 2),
        "by_collection": dict(sorted(written.items(), key=lambda kv: -kv[1])),
        "commands_per_message": round(commands / n, 2),
    }


async def _send(
    client: httpx.AsyncClient,
    settings: Settings,
    phones: list[str],
    rate: float,
    stored: dict[str, float],
    timeout: float = 30.0,
) -> int:
    """One message from each phone at `rate`/s; waits until routing announced them all
    stored. Returns how many were accepted."""
    run = uuid.uuid4().hex[:8]
    ids: list[str] = []
    started = time.perf_counter()
    for i, phone in enumerate(phones):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        wamid = f"wamid.budget{run}{i:06d}"
        body = json.dumps(
            whatsapp_webhook(phone, wamid, random.choice(TEXTS), "Cliente Presupuesto"),
            separators=(",", ":"),
        ).encode()
        response = await client.post(
            "/webhooks/whatsapp",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(settings.whatsapp_app_secret, body),
            },
        )
        if response.status_code == 200:
            ids.append(f"wa:{PHONE_NUMBER_ID}:{wamid}")
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(i in stored for i in ids):
            break
        await asyncio.sleep(0.1)
    return len(ids)


async def run_write_budget(
    settings: Settings,
    proc: PlatformProcess,
    pids: dict[str, int | None],
    stored: dict[str, float],
    messages: int,
    rate: float,
    settle_seconds: float = 12.0,
    rounds: int = 3,
) -> dict[str, Any]:
    """Both phases; `stored` is filled by the bus probe (routing's announcements). Each
    phase waits `settle_seconds` after its last message so the writes it defers (routing's
    idle unstage after 10 s, exports' chat lines after 1 s) are counted in it."""
    run = uuid.uuid4().int % 1000
    phones = [f"5492{run:03d}{i:07d}" for i in range(messages)]
    report: dict[str, Any] = {"messages_per_phase": messages, "rate": rate, "rounds": rounds}
    async with httpx.AsyncClient(base_url=proc.base_url, timeout=30) as client:
        for phase, senders in (("first_contact", phones), ("repeat_customer", phones * rounds)):
            before = await _counters(proc)
            cpu = CpuMeter(pids)
            cpu.start()
            accepted = await _send(client, settings, senders, rate, stored)
            # Downstream projections (customers, tickets, exports) finish after routing;
            # deferred writes come later still.
            await asyncio.sleep(settle_seconds)
            used = cpu.stop()
            after = await _counters(proc)
            n = max(1, accepted)
            report[phase] = {
                "accepted": accepted,
                **_difference(before, after, n),
                "cpu_ms_per_message": {k: round(v * 1000 / n, 2) for k, v in used.items()},
            }
    return report


def print_write_budget(report: dict[str, Any]) -> None:
    """The budget as a table on stderr: documents per message by collection, both phases."""
    phases = ("first_contact", "repeat_customer")
    collections: list[str] = []
    for phase in phases:
        for name in report[phase]["by_collection"]:
            if name not in collections:
                collections.append(name)
    out = sys.stderr
    print(
        f"write budget ({report['messages_per_phase']} first contacts, then "
        f"{report['rounds']} more messages each, at {report['rate']}/s): "
        "documents written per message",
        file=out,
    )
    print(f"  {'collection':<34}{'first contact':>15}{'repeat':>10}", file=out)
    for name in collections:
        cells = [report[p]["by_collection"].get(name, 0.0) for p in phases]
        print(f"  {name:<34}{cells[0]:>15}{cells[1]:>10}", file=out)
    for label, key in (
        ("all documents", "documents_written_per_message"),
        ("database commands", "commands_per_message"),
    ):
        cells = [report[p][key] for p in phases]
        print(f"  {label:<34}{cells[0]:>15}{cells[1]:>10}", file=out)
    for process in ("database", "platform", "broker"):
        cells = [report[p]["cpu_ms_per_message"].get(process, "-") for p in phases]
        print(f"  {'CPU ms/msg, ' + process:<34}{cells[0]:>15}{cells[1]:>10}", file=out, flush=True)
