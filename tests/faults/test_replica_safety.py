"""What two replicas share must stay right when both write or relay at once: each replica
here has its own database client and its own broker connection, as two processes would.

- routing's customer projection: versions applied in any order by two writers, the newest
  stays (the version is in the write's filter);
- an embedded outbox (routing's, customers'): two relays over the same backlog publish each
  staged event once (each document is claimed by compare-and-set before it is published).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from pymongo import AsyncMongoClient

from services.routing.store import Store
from shared.bus import Bus, make_broker
from shared.config import Settings
from shared.contracts import Identity, OutboundMessage
from shared.contracts.base import utcnow
from shared.outbox import EmbeddedOutbox, Outbox, event_entry, staging
from tests.bus_probe import bus_probe
from tests.support import eventually


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[tuple[AsyncMongoClient, Bus]]:
    """One replica's own database client and bus connection."""
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
    broker = make_broker(settings)
    bus = Bus(settings, broker)
    await broker.connect()
    await bus.declare_topology()
    try:
        yield client, bus
    finally:
        await bus.close()
        await broker.stop()
        await client.close()


async def test_two_writers_of_the_customer_projection_leave_the_newest(fault_settings: Settings):
    async with replica(fault_settings) as (one, bus_one), replica(fault_settings) as (two, _):
        name = fault_settings.db_name("routing")
        stores = [Store(one[name], bus_one), Store(two[name], bus_one)]
        customer = f"cus-{uuid.uuid4().hex[:12]}"
        versions = list(range(1, 41))
        random.shuffle(versions)

        async def write(store: Store, version: int) -> None:
            await store.project_customer(customer, {"name": f"v{version}"}, version)

        await asyncio.gather(
            *(write(stores[i % 2], v) for i, v in enumerate(versions)),
        )
        doc = await one[name]["customers"].find_one({"_id": customer})
        assert doc is not None
        assert (doc["version"], doc["name"]) == (40, "v40")


def _reply(n: int) -> OutboundMessage:
    return OutboundMessage(
        conversation_id=f"conv-{uuid.uuid4().hex[:12]}",
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id="+5493515550101"),
        author="staff:eva",
        text=f"respuesta {n}",
    )


async def test_two_relays_over_one_backlog_publish_each_event_once(fault_settings: Settings):
    registry: dict[str, type[OutboundMessage]] = {"OutboundMessage": OutboundMessage}
    collection_name = f"relay_{uuid.uuid4().hex[:8]}"
    events = [_reply(n) for n in range(120)]
    async with (
        replica(fault_settings) as (one, bus_one),
        replica(fault_settings) as (two, bus_two),
        bus_probe(fault_settings, "outbound.#") as probe,
    ):
        name = fault_settings.db_name("routing")
        relays = [
            EmbeddedOutbox(one[name][collection_name], bus_one, registry),  # type: ignore[arg-type]
            EmbeddedOutbox(two[name][collection_name], bus_two, registry),  # type: ignore[arg-type]
        ]
        # A backlog a crash left behind: every document staged a minute ago.
        staged_at = utcnow() - timedelta(minutes=1)
        for n, event in enumerate(events):
            await one[name][collection_name].update_one(
                {"_id": n}, staging([event_entry(event)], staged_at), upsert=True
            )
        relayed = await asyncio.gather(
            *(relay.relay_once(older_than=timedelta(seconds=1)) for relay in relays)
        )
        assert sum(relayed) == len(events)
        await eventually(
            lambda: _at_least(len(probe.matching()), len(events)), timeout=30, interval=0.2
        )
        await asyncio.sleep(1.0)  # a double publish would arrive by now
        for event in events:
            assert len(probe.matching(event_id=event.event_id)) == 1


async def _at_least(count: int, threshold: int) -> bool:
    return count >= threshold


async def test_two_relays_of_the_collection_outbox_publish_each_event_once(
    fault_settings: Settings,
):
    registry: dict[str, type[OutboundMessage]] = {"OutboundMessage": OutboundMessage}
    db_name = fault_settings.db_name(f"outbox_{uuid.uuid4().hex[:8]}")
    events = [_reply(n) for n in range(120)]
    async with (
        replica(fault_settings) as (one, bus_one),
        replica(fault_settings) as (two, bus_two),
        bus_probe(fault_settings, "outbound.#") as probe,
    ):
        relays = [Outbox(one[db_name], bus_one, registry), Outbox(two[db_name], bus_two, registry)]  # type: ignore[arg-type]
        await relays[0].ensure_indexes()
        await relays[0].stage(events)  # type: ignore[arg-type]
        await asyncio.gather(*(relay.relay_once(older_than=timedelta(0)) for relay in relays))
        await eventually(
            lambda: _at_least(len(probe.matching()), len(events)), timeout=30, interval=0.2
        )
        await asyncio.sleep(1.0)
        for event in events:
            assert len(probe.matching(event_id=event.event_id)) == 1
        await one.drop_database(db_name)
