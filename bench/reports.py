"""Benchmark of the reports read model (issue 27, item 5; not a test).

1. Feed: a sample of conversations' events through the real feed
   (`reports_feed.count_conversations`, the path the broker's consumer takes), in batches
   as the consumer receives them: events/s.
2. Load: 100,000 conversations' worth of events (30 days, 4 channels, 40 people; ~6 events
   each) tallied in process with the same pure code (`reports.conversation_tally`, facts
   kept in a dict instead of `report_conversations`) and written as the counters documents
   the feed would have left.
3. Query: each report over the whole 30 days through the HTTP router (in-process ASGI):
   best and median of a few runs.

Database: MONGO_URL if set, else a SecantusDB started in memory.

    .venv/bin/python -m bench.reports [--conversations 100000] [--feed-sample 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from services.exports import reports_feed
from services.exports.reports import Facts, Tally, conversation_tally, facts_change
from services.exports.reports_api import build_reports_router
from services.exports.reports_store import ReportsStore
from shared.auth import issue_token
from shared.config import Settings
from shared.contracts import ConversationEvent, ConversationSnapshot, Identity
from shared.contracts.base import CHANNELS
from shared.errors import install_error_handlers
from shared.mongo import make_client

DAYS = 30
PEOPLE = [f"agent:a{i}" for i in range(30)] + [f"staff:s{i}" for i in range(10)]
START = datetime(2031, 3, 3, tzinfo=UTC)
REASONS = [
    "El cliente pidió hablar con una persona. Escribió: «x».",
    "El cliente vuelve a preguntar algo que Lara ya le respondió. Escribió: «x».",
    "El cliente envía audios sin texto. Escribió: «x».",
]


def conversation(i: int, rng: random.Random) -> Iterator[ConversationEvent]:
    """One conversation's events, as routing publishes them."""
    channel = CHANNELS[i % len(CHANNELS)]
    opened = START + timedelta(days=i % DAYS, hours=rng.randrange(8, 22), minutes=rng.random() * 59)
    conv_id = f"bench-{i}"
    person = rng.choice(PEOPLE)
    version = 0

    def event(
        minutes: float, actions: list[str], actor: str, holder: str | None, note: str | None = None
    ) -> ConversationEvent:
        nonlocal version
        version += 1
        return ConversationEvent(
            action=actions[0],  # type: ignore[arg-type]
            actions=actions,  # type: ignore[arg-type]
            actor=actor,
            note=note,
            occurred_at=opened + timedelta(minutes=minutes),
            conversation=ConversationSnapshot(
                conversation_id=conv_id,
                channel=channel,
                identity=Identity(channel=channel, external_id=conv_id),
                status="cerrada" if actions == ["closed"] else "abierta",
                holder=holder,
                opened_at=opened,
                version=version,
            ),
        )

    yield event(0, ["opened", "message_received", "message_sent"], "customer", "lara")
    if i % 10 < 3:  # Lara resolves three in ten alone
        yield event(5, ["closed"], "system", "lara")
        return
    yield event(1, ["escalated"], "lara", None, REASONS[i % len(REASONS)])
    taken = 1 + rng.random() * 10
    yield event(taken, ["assigned"], "staff:s0", person)
    yield event(taken + rng.random() * 5, ["message_sent"], person, person)
    yield event(taken + 6, ["message_received"], "customer", person)
    yield event(taken + 6 + rng.random() * 30, ["closed"], person, person)


def tally_in_process(n: int, tz: ZoneInfo) -> Tally:
    """What the feed would add for `n` conversations, facts kept in a dict."""
    rng = random.Random(27)
    tally = Tally()
    for i in range(n):
        facts = Facts()
        for event in conversation(i, rng):
            conversation_tally(event, facts, tz, tally)
            facts = facts.after(facts_change(event))
    return tally


async def main(conversations: int, feed_sample: int) -> None:
    server_db = None
    mongo_url = os.environ.get("MONGO_URL")
    if not mongo_url:
        from contactcenter.embedded_mongo import EmbeddedMongo

        server_db = EmbeddedMongo(":memory:")
        mongo_url = server_db.start()
    settings = Settings(mongo_url=mongo_url, mongo_db_prefix=f"bench{os.getpid()}_")
    tz = ZoneInfo(settings.tz)
    mongo = make_client(mongo_url)
    db = mongo.get_database(settings.db_name("exports"))
    store = ReportsStore(db)
    await store.ensure_indexes()
    try:
        # 1. the real feed on a sample (its own conversation ids, far from the load's days)
        rng = random.Random(1)
        sample = [e for i in range(feed_sample) for e in conversation(10_000_000 + i, rng)]
        started = time.perf_counter()
        for at in range(0, len(sample), 50):
            await reports_feed.count_conversations(store, sample[at : at + 50], tz)
        feed_seconds = time.perf_counter() - started

        # 2. the load
        started = time.perf_counter()
        tally = tally_in_process(conversations, tz)
        tally_seconds = time.perf_counter() - started
        started = time.perf_counter()
        slots = tally.slots()
        for at in range(0, len(slots), 500):
            part = Tally()
            for slot in slots[at : at + 500]:
                if slot in tally.counts:
                    part.counts[slot] = tally.counts[slot]
                if slot in tally.samples:
                    part.samples[slot] = tally.samples[slot]
            await store.add(part)
        write_seconds = time.perf_counter() - started

        # 3. the queries
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(build_reports_router(store, settings))
        headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', 'staff')}"}
        last = (START + timedelta(days=DAYS - 1)).date().isoformat()
        params = {"desde": START.date().isoformat(), "hasta": last}
        timings: dict[str, list[float]] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name in ("personas", "canales", "horas", "lara", "servicios"):
                for _ in range(5):
                    started = time.perf_counter()
                    response = await client.get(
                        f"/api/reports/{name}", params=params, headers=headers
                    )
                    timings.setdefault(name, []).append(time.perf_counter() - started)
                    response.raise_for_status()
            people = (
                await client.get("/api/reports/personas", params=params, headers=headers)
            ).json()
        counts = {
            kind: await db[f"report_{kind}"].count_documents({})
            for kind in ("hours", "people", "handovers")
        }
    finally:
        with contextlib.suppress(Exception):
            await mongo.drop_database(settings.db_name("exports"))
        await mongo.close()
        if server_db is not None:
            server_db.stop()

    closed = sum(r["closed"] for r in people["rows"])
    print(f"database: {'MONGO_URL' if os.environ.get('MONGO_URL') else 'SecantusDB :memory:'}")
    print(
        f"feed: {len(sample)} events ({feed_sample} conversations) in {feed_seconds:.1f}s = "
        f"{len(sample) / feed_seconds:.0f} events/s"
    )
    print(
        f"load: {conversations} conversations tallied in {tally_seconds:.1f}s, "
        f"{len(slots)} counter documents written in {write_seconds:.1f}s {counts}"
    )
    print(f"personas over {DAYS} days: {len(people['rows'])} people, {closed} closed by people")
    print()
    heading = f"report ({DAYS} days, {conversations:,} conv.)"
    print(f"| {heading:<30} | {'best':>8} | {'median':>8} |")
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 10}|")
    for name, values in timings.items():
        print(f"| {name:<30} | {min(values):>7.3f}s | {statistics.median(values):>7.3f}s |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--feed-sample", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.feed_sample))
