"""`python -m bench.soak`: the platform for a long while under steady traffic and faults (a
benchmark run by hand, not a test; results in bench/RESULTS.md).

- A three-node RabbitMQ cluster of its own (never the machine's broker) and an in-memory
  SecantusDB.
- Replicas as README "Running replicas" runs them (the fault tests' harness,
  `tests/faults/replicas.py`): `contactcenter up` as replica 0 plus `run routing` and
  `run customers` as replica 1, routing's inbound traffic in partitions.
- `--rate` WhatsApp messages a second from `--customers` customers, each customer's next
  message posted once the previous one was accepted (so the order they were published in
  is known), a refused webhook posted again as Meta does.
- Every `--fault-every` minutes, in turn: a broker node's app is stopped and started
  again, then a replica (routing, then customers) is SIGKILLed and started again.

Reports: messages lost, stored twice and stored out of order (each must be 0); stored
latency (webhook accepted → message in routing's store) p50/p99 per window; the resident
memory of every platform process over time and its growth after the first window.

    .venv/bin/python -m bench.soak [--minutes 30] [--rate 30] [--fault-every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from contactcenter.embedded_mongo import EmbeddedMongo
from tests.brokers import RabbitCluster, rabbit_cluster
from tests.faults.harness import LINE, PlatformProcess
from tests.faults.replicas import ReplicaSet, Stored, Stream, replica_settings
from tests.settings import isolated_settings

RESULTS = Path(__file__).parent / "results"


class TimedStream(Stream):
    """The fault tests' stream, also noting when each webhook was accepted."""

    accepted_at: dict[str, float]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.accepted_at = {}

    async def _post(self, client: httpx.AsyncClient, phone: str, n: int) -> None:
        await super()._post(client, phone, n)
        self.accepted_at[f"wa:{LINE}:{self.message_id(phone, n)}"] = time.monotonic()


async def stored_in_chunks(settings: Any, stream: Stream, chunk: int = 500) -> Stored:
    """`tests.faults.replicas.stored`, a few hundred ids per query: one `$in` of every id of
    a long soak (54,000) kept the embedded database busy for over 15 minutes."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        messages = client[settings.db_name("routing")]["messages"]
        wanted = [i for phone in stream.phones for i in stream.event_ids(phone)]
        seq_by_event: dict[str, tuple[str, int]] = {}
        for start in range(0, len(wanted), chunk):
            ids = wanted[start : start + chunk]
            async for doc in messages.find({"_id": {"$in": ids}}, {"conversation_id": 1, "seq": 1}):
                seq_by_event[doc["_id"]] = (doc["conversation_id"], int(doc["seq"]))
        seqs: dict[str, list[int]] = {}
        for conversation in sorted({c for c, _ in seq_by_event.values()}):
            found = messages.find({"conversation_id": conversation}, {"seq": 1})
            seqs[conversation] = [int(doc["seq"]) async for doc in found]
        return Stored(seq_by_event, seqs)
    finally:
        await client.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Watch:
    """Stored latency (polled) and resident memory (sampled), while the stream runs."""

    def __init__(self, mongo_url: str, db: str, stream: TimedStream, started: float) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
        self.messages = self.client[db]["messages"]
        self.stream = stream
        self.started = started
        self.stored_at: dict[str, float] = {}
        self.memory: list[dict[str, Any]] = []

    async def poll_stored(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pending = [i for i in self.stream.accepted_at if i not in self.stored_at]
            for start in range(0, len(pending), 500):
                chunk = pending[start : start + 500]
                with contextlib.suppress(Exception):
                    async for doc in self.messages.find({"_id": {"$in": chunk}}, {"_id": 1}):
                        self.stored_at.setdefault(doc["_id"], time.monotonic())
            await asyncio.sleep(0.5)

    async def sample_memory(self, processes: Callable[[], dict[str, int]], stop: asyncio.Event):  # type: ignore[no-untyped-def]
        while not stop.is_set():
            sample: dict[str, Any] = {"minute": round((time.monotonic() - self.started) / 60, 2)}
            for name, pid in processes().items():
                with contextlib.suppress(OSError):
                    sample[f"{name} pid {pid}"] = rss_kib(pid)  # a restarted one is another
            self.memory.append(sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 30)


async def faults(
    cluster: RabbitCluster, replicas: ReplicaSet, every: float, log: list[dict[str, Any]],
    started: float, stop: asyncio.Event,
) -> None:  # fmt: skip
    """Every `every` seconds: a broker node restarted, then a replica SIGKILLed and started."""
    turn = 0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        node = cluster.nodes[1 + turn % (len(cluster.nodes) - 1)]
        minute = round((time.monotonic() - started) / 60, 2)
        await asyncio.to_thread(node.stop_app)
        await asyncio.sleep(5)
        await asyncio.to_thread(node.start_app)
        log.append({"minute": minute, "fault": f"broker node {node.nodename} restarted"})
        victim: PlatformProcess = replicas.routing if turn % 2 == 0 else replicas.customers
        await asyncio.sleep(5)
        minute = round((time.monotonic() - started) / 60, 2)
        victim.kill()
        await asyncio.sleep(3)
        await asyncio.to_thread(victim.start)
        log.append({"minute": minute, "fault": f"replica {' '.join(victim.command)} SIGKILLed"})
        turn += 1


def windows(
    stream: TimedStream, stored_at: dict[str, float], started: float, minutes: float
) -> list[dict[str, Any]]:
    by_window: dict[int, list[float]] = {}
    for event_id, accepted in stream.accepted_at.items():
        if event_id in stored_at:
            index = int((accepted - started) // (minutes * 60))
            by_window.setdefault(index, []).append((stored_at[event_id] - accepted) * 1000)
    out = []
    for index in sorted(by_window):
        values = sorted(by_window[index])
        out.append(
            {
                "window": f"{index * minutes:g}-{(index + 1) * minutes:g} min",
                "messages": len(values),
                "stored_p50_ms": round(statistics.median(values), 1),
                "stored_p99_ms": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1),
            }
        )
    return out


def growth(memory: list[dict[str, Any]], after_minutes: float) -> dict[str, float]:
    """Resident memory growth of each process from the first sample after `after_minutes`
    to the last one, in percent (a process restarted by the soak is a new one: not compared)."""
    later = [s for s in memory if s["minute"] >= after_minutes]
    if len(later) < 2:
        return {}
    first, last = later[0], later[-1]
    return {
        name: round(100 * (last[name] - first[name]) / first[name], 1)
        for name in first
        if name != "minute" and name in last and first[name]
    }


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"soak{uuid.uuid4().hex[:8]}"
    customers = args.customers
    rounds = int(args.minutes * 60 * args.rate / customers)
    database = EmbeddedMongo(":memory:")
    mongo_url = database.start()
    try:
        with rabbit_cluster(3, plugins=()) as cluster:
            settings = replica_settings(
                isolated_settings(
                    amqp_url=",".join(cluster.amqp_urls),
                    mongo_url=mongo_url,
                    bus_namespace=namespace,
                    mongo_db_prefix=f"{namespace}_",
                    dev_mode=True,
                    log_level="WARNING",
                )
            )
            replicas = ReplicaSet(settings)
            await replicas.start(cluster.nodes[0].ctl)
            stream = TimedStream(settings, customers, rounds, "soak")
            started = time.monotonic()
            watch = Watch(mongo_url, settings.db_name("routing"), stream, started)
            stop = asyncio.Event()  # the watchers stop once everything is stored
            traffic_done = asyncio.Event()  # the faults stop with the traffic
            fault_log: list[dict[str, Any]] = []

            def pids() -> dict[str, int]:
                named = {
                    "up (replica 0)": replicas.front,
                    "run routing (replica 1)": replicas.routing,
                    "run customers (replica 1)": replicas.customers,
                }
                return {n: p.process.pid for n, p in named.items() if p.process is not None}

            background = [
                asyncio.create_task(watch.poll_stored(stop)),
                asyncio.create_task(watch.sample_memory(pids, stop)),
            ]
            fault_task = asyncio.create_task(
                faults(cluster, replicas, args.fault_every * 60, fault_log, started, traffic_done)
            )
            try:
                await stream.run(replicas.front.base_url, customers / args.rate)
                traffic_done.set()
                await fault_task
                deadline = time.monotonic() + 300
                expected_count = customers * rounds
                while time.monotonic() < deadline:  # the poller sees them arrive
                    if len(watch.stored_at) >= expected_count:
                        break
                    await asyncio.sleep(2)
                stop.set()
                await asyncio.gather(*background)
                final = await stored_in_chunks(settings, stream)
                problems = final.problems(stream)
            finally:
                stop.set()
                traffic_done.set()
                for task in [*background, fault_task]:
                    task.cancel()
                replicas.routing.kill()
                replicas.customers.kill()
                replicas.stop()
            expected = customers * rounds
            return {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "minutes": args.minutes,
                "rate_per_s": args.rate,
                "customers": customers,
                "messages": expected,
                "stored": len(final.seq_by_event),
                "lost": expected - len(final.seq_by_event),
                "problems": problems,
                "webhooks_refused_and_posted_again": stream.refused,
                "faults": fault_log,
                "windows": windows(stream, watch.stored_at, started, args.fault_every),
                "memory_kib": watch.memory,
                "memory_growth_after_first_window_percent": growth(watch.memory, args.fault_every),
            }
    finally:
        database.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--fault-every", type=float, default=5.0, help="minutes")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = asyncio.run(soak(args))
    text = json.dumps(report, indent=2)
    print(text)
    target = args.json or RESULTS / f"soak-{report['date'][:10]}.json"
    target.write_text(text + "\n")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
