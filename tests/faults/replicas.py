"""Replicas for the scale-out fault tests: the platform split over several processes, a steady
stream of WhatsApp webhooks with a known order per customer, and what routing stored.

The replica set: `contactcenter up` as replica 0 (every service, ingest included) plus
`run routing` and `run customers` as replica 1, all on one database and one broker (or
cluster), routing's inbound traffic split into partitions (README, "Running replicas").
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from pymongo import AsyncMongoClient

from shared.config import Settings
from tests.brokers import scaled
from tests.faults.harness import LINE, PlatformProcess, random_phone, whatsapp_text
from tests.support import eventually

PARTITIONS = 4
# A provider retries a refused webhook for a long time; the tests give up after this long.
REFUSED_FOR_AT_MOST = 60.0


def replica_settings(settings: Settings, amqp_url: str | None = None) -> Settings:
    update: dict[str, object] = {
        "routing_partitions": PARTITIONS,
        "replica_count": 2,
        # Longer than the replicas take to start side by side on a loaded machine: each
        # takes its own partitions before any standby subscribes (RabbitMQ never rebalances).
        "routing_standby_delay_seconds": 10.0,
    }
    if amqp_url is not None:
        update["amqp_url"] = amqp_url
    return settings.model_copy(update=update)


@dataclass
class ReplicaSet:
    settings: Settings
    front: PlatformProcess = field(init=False)
    routing: PlatformProcess = field(init=False)
    customers: PlatformProcess = field(init=False)

    def __post_init__(self) -> None:
        second = self.settings.model_copy(update={"replica_index": 1})
        self.front = PlatformProcess(self.settings, "up")
        self.routing = PlatformProcess(second, "run", "routing")
        self.customers = PlatformProcess(second, "run", "customers")

    async def start(self, node_ctl) -> None:  # type: ignore[no-untyped-def]
        """Start the replicas side by side and wait until every partition has its active
        consumer and a standby (the other replica)."""
        await asyncio.gather(
            *(asyncio.to_thread(p.start) for p in (self.front, self.routing, self.customers))
        )

        def spread() -> bool:
            consumers = partition_consumers(node_ctl, self.settings)
            return all(sorted(flags) == [False, True] for flags in consumers.values())

        await eventually(lambda: asyncio.to_thread(spread), timeout=scaled(60), interval=0.5)

    def stop(self) -> None:
        for process in (self.front, self.routing, self.customers):
            process.stop()


@dataclass
class Stream:
    """Customers writing in rounds: message n of every customer, then message n + 1.

    A customer's next webhook is posted only once the previous one was accepted (200), so
    the order ingest published a customer's messages in is known: its round order. A
    webhook that is refused (a broker node going away) is posted again, as Meta does.
    """

    settings: Settings
    customers: int
    per_customer: int
    tag: str
    phones: list[str] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self.phones = [random_phone() for _ in range(self.customers)]

    def message_id(self, phone: str, n: int) -> str:
        return f"wamid.{self.tag}{phone}x{n:03d}"

    def event_ids(self, phone: str) -> list[str]:
        """The customer's events in the order published."""
        return [f"wa:{LINE}:{self.message_id(phone, n)}" for n in range(self.per_customer)]

    async def _post(self, client: httpx.AsyncClient, phone: str, n: int) -> None:
        body, headers = whatsapp_text(
            self.settings.whatsapp_app_secret,
            phone,
            self.message_id(phone, n),
            f"consulta número {n}",
        )
        deadline = time.monotonic() + scaled(REFUSED_FOR_AT_MOST)
        while True:
            try:
                response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.refused += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook refused for {REFUSED_FOR_AT_MOST}s: {phone} #{n}")
            await asyncio.sleep(0.5)

    async def run(self, base_url: str, round_seconds: float, after_round=None) -> None:  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            for n in range(self.per_customer):
                started = time.monotonic()
                await asyncio.gather(*(self._post(client, phone, n) for phone in self.phones))
                if after_round is not None:
                    await after_round(n)
                await asyncio.sleep(max(0.0, round_seconds - (time.monotonic() - started)))


@dataclass
class Stored:
    """What routing stored for the stream's customers: per customer, its conversations and
    the `seq` of each of its messages; per conversation, every `seq` value."""

    seq_by_event: dict[str, tuple[str, int]]
    seqs_by_conversation: dict[str, list[int]]

    def problems(self, stream: Stream) -> list[str]:
        """Everything that breaks "stored once, in the order published"; empty when none."""
        found: list[str] = []
        for phone in stream.phones:
            ids = stream.event_ids(phone)
            missing = [i for i in ids if i not in self.seq_by_event]
            if missing:
                found.append(f"{phone}: {len(missing)} messages not stored")
                continue
            conversations = {self.seq_by_event[i][0] for i in ids}
            if len(conversations) != 1:
                found.append(f"{phone}: messages spread over {len(conversations)} conversations")
            seqs = [self.seq_by_event[i][1] for i in ids]
            inversions = sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
            if inversions:
                found.append(f"{phone}: {inversions} inversions in {seqs}")
        for conversation, seqs in self.seqs_by_conversation.items():
            if len(seqs) != len(set(seqs)):
                found.append(f"{conversation}: duplicate seq values {sorted(seqs)}")
        return found


async def stored(settings: Settings, stream: Stream) -> Stored:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
    try:
        messages = client[settings.db_name("routing")]["messages"]
        wanted = [i for phone in stream.phones for i in stream.event_ids(phone)]
        seq_by_event: dict[str, tuple[str, int]] = {}
        async for doc in messages.find({"_id": {"$in": wanted}}, {"conversation_id": 1, "seq": 1}):
            seq_by_event[doc["_id"]] = (doc["conversation_id"], int(doc["seq"]))
        conversations = sorted({c for c, _ in seq_by_event.values()})
        seqs: dict[str, list[int]] = defaultdict(list)
        async for doc in messages.find(
            {"conversation_id": {"$in": conversations}}, {"conversation_id": 1, "seq": 1}
        ):
            seqs[doc["conversation_id"]].append(int(doc["seq"]))
        return Stored(seq_by_event, dict(seqs))
    finally:
        await client.close()


async def all_stored(settings: Settings, stream: Stream) -> Stored | None:
    result = await stored(settings, stream)
    expected = stream.customers * stream.per_customer
    return result if len(result.seq_by_event) >= expected else None


def partition_consumers(node_ctl, settings: Settings) -> dict[str, list[bool]]:  # type: ignore[no-untyped-def]
    """For each routing partition queue of the namespace: its consumers' `active` flags."""
    out = node_ctl("list_consumers", "-q", "--no-table-headers", "queue_name", "active")
    prefix = f"{settings.bus_namespace}.routing.inbound.p"
    found: dict[str, list[bool]] = {f"{prefix}{p}": [] for p in range(PARTITIONS)}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in found:
            found[parts[0]].append(parts[1] == "true")
    return found


def consumed_inbound(base_url: str) -> float:
    """Messages this process's routing consumed from its inbound partitions (acked)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("cc_consumed_messages_total{")
            and 'consumer="routing.inbound"' in line
            and 'outcome="acked"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def delete_partition_queues(settings: Settings) -> None:
    """The namespace's partition queues (tests/conftest.py deletes the others)."""
    import aio_pika

    from shared.bus import amqp_urls

    connection = await aio_pika.connect(amqp_urls(settings.amqp_url)[0])
    async with connection:
        channel = await connection.channel()
        for p in range(PARTITIONS):
            await channel.queue_delete(f"{settings.bus_namespace}.routing.inbound.p{p}")
