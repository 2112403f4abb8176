"""A three-node RabbitMQ cluster of the test's own (tests/brokers.py), replicas of every
consuming service connected with every node's URL: one node stopped under load and started
again loses nothing and duplicates nothing, the queues drain, and publishers and consumers
reconnect to the surviving nodes by themselves.

Quorum queues are declared on a three-node cluster, so each has three members: with one
node down the other two are a majority and the queue keeps accepting and delivering."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from shared.config import Settings
from tests.brokers import RabbitCluster, rabbit_cluster, rabbitmq_available, scaled
from tests.faults.replicas import ReplicaSet, Stream, all_stored, replica_settings
from tests.support import eventually

CUSTOMERS = 30
PER_CUSTOMER = 20
ROUND_SECONDS = 0.5


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    if not rabbitmq_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have rabbitmq-server installed for the fault tests")
        pytest.skip("rabbitmq-server is not installed")
    with rabbit_cluster(3, plugins=()) as started:
        yield started


def _drained(cluster: RabbitCluster, settings: Settings) -> bool:
    counts = cluster.nodes[1].queue_counts(f"{settings.bus_namespace}.")
    platform = {n: c for n, c in counts.items() if ".connector." not in n}
    return bool(platform) and all(c == (0, 0) for c in platform.values())


async def test_a_broker_node_stopped_under_load_loses_and_duplicates_nothing(
    settings: Settings, cluster: RabbitCluster
):
    ns = f"c{uuid.uuid4().hex[:10]}"
    cs = replica_settings(
        settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"}),
        amqp_url=",".join(cluster.amqp_urls),
    )
    replicas = ReplicaSet(cs)
    await replicas.start(cluster.nodes[1].ctl)
    seed = cluster.nodes[0]
    members = seed.ctl("list_queues", "-q", "--no-table-headers", "name", "members")
    assert all(
        line.count("@") == 3 for line in members.splitlines() if line.startswith(f"{ns}.")
    ), members

    # The seed node is the processes' first URL: their connections and the queue leaders
    # are there. It is stopped a third of the way in, while webhooks keep coming, and
    # started again at two thirds.
    connections = seed.ctl("list_connections", "-q", "--no-table-headers", "pid")
    assert len(connections.splitlines()) >= 6, connections
    faults: list[asyncio.Task[None]] = []

    async def stop_then_restart(round_done: int) -> None:
        if round_done == PER_CUSTOMER // 3:
            faults.append(asyncio.create_task(asyncio.to_thread(seed.stop_app)))
        elif round_done == 2 * PER_CUSTOMER // 3:
            await faults[0]
            faults.append(asyncio.create_task(asyncio.to_thread(seed.start_app)))

    try:
        stream = Stream(cs, CUSTOMERS, PER_CUSTOMER, "node")
        await stream.run(replicas.front.base_url, ROUND_SECONDS, after_round=stop_then_restart)
        await asyncio.gather(*faults)
        result = await eventually(lambda: all_stored(cs, stream), timeout=scaled(240), interval=1)
        assert result.problems(stream) == []
        await eventually(
            lambda: asyncio.to_thread(_drained, cluster, cs), timeout=scaled(120), interval=1
        )
        # Still serving after the node came back: every process reconnected by itself.
        for process in (replicas.front, replicas.routing, replicas.customers):
            assert process.process is not None and process.process.poll() is None
        print(f"webhooks refused while the node was down, then accepted: {stream.refused}")
    finally:
        replicas.stop()
