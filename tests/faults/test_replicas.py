"""Two replicas of routing and of customers: each customer's messages are stored once, in the
order ingest published them, whichever replica handles them, and when a routing replica is
SIGKILLed its partitions move to the survivor."""

from __future__ import annotations

import asyncio
import time

from shared.config import Settings
from tests.brokers import RabbitNode, scaled
from tests.faults.replicas import (
    ReplicaSet,
    Stream,
    all_stored,
    consumed_inbound,
    delete_partition_queues,
    partition_consumers,
    replica_settings,
)
from tests.support import eventually

CUSTOMERS = 30
PER_CUSTOMER = 20
ROUND_SECONDS = 0.5


async def test_two_replicas_keep_each_customers_order(
    fault_settings: Settings, fault_broker: RabbitNode
):
    settings = replica_settings(fault_settings)
    replicas = ReplicaSet(settings)
    await replicas.start(fault_broker.ctl)
    try:
        stream = Stream(settings, CUSTOMERS, PER_CUSTOMER, "rep")
        await stream.run(replicas.front.base_url, ROUND_SECONDS)
        result = await eventually(
            lambda: all_stored(settings, stream), timeout=scaled(180), interval=1.0
        )
        assert result.problems(stream) == []
        # Both routing replicas did part of the work: the order held across processes.
        assert consumed_inbound(replicas.front.base_url) > 0
        assert consumed_inbound(replicas.routing.base_url) > 0
    finally:
        replicas.stop()
        await delete_partition_queues(settings)


async def test_killed_replica_hands_its_partitions_to_the_survivor(
    fault_settings: Settings, fault_broker: RabbitNode
):
    settings = replica_settings(fault_settings)
    replicas = ReplicaSet(settings)
    await replicas.start(fault_broker.ctl)
    moved_after: list[float] = []

    async def kill_mid_stream(round_done: int) -> None:
        if round_done != PER_CUSTOMER // 3:
            return
        assert consumed_inbound(replicas.routing.base_url) > 0, "replica 1 had no partition"
        replicas.routing.kill()
        killed_at = time.monotonic()

        def survivor_holds_all() -> bool:
            consumers = partition_consumers(fault_broker.ctl, settings)
            return all(flags == [True] for flags in consumers.values())

        await eventually(
            lambda: asyncio.to_thread(survivor_holds_all), timeout=scaled(30), interval=0.2
        )
        moved_after.append(time.monotonic() - killed_at)

    try:
        stream = Stream(settings, CUSTOMERS, PER_CUSTOMER, "kill")
        await stream.run(replicas.front.base_url, ROUND_SECONDS, after_round=kill_mid_stream)
        assert moved_after, "the replica was never killed"
        result = await eventually(
            lambda: all_stored(settings, stream), timeout=scaled(180), interval=1.0
        )
        assert result.problems(stream) == []
        print(f"partitions moved to the survivor {moved_after[0]:.2f}s after the kill")
    finally:
        replicas.routing.kill()
        replicas.stop()
        await delete_partition_queues(settings)
