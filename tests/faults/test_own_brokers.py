"""The harness the fault and scale-out tests stand on: nodes of their own, never the shared
broker. A cluster of three joins, has the consistent-hash exchange on every node, and leaves
no node running behind it."""

from __future__ import annotations

import aio_pika

from tests.brokers import port_open, rabbit_cluster


async def test_a_three_node_cluster_with_consistent_hashing_starts_and_stops() -> None:
    with rabbit_cluster(3) as cluster:
        status = cluster.members()
        nodes = cluster.nodes
        for node in nodes:
            assert node.nodename in status
            assert node.amqp_port != 5672
        for node in nodes:
            connection = await aio_pika.connect(node.amqp_url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.declare_exchange(
                    "harness.hash", type="x-consistent-hash", durable=False, auto_delete=True
                )
                queue = await channel.declare_queue(exclusive=True)
                await queue.bind(exchange, routing_key="1")
                await exchange.publish(aio_pika.Message(b"x"), routing_key="cliente-1")
                message = await queue.get(timeout=5, fail=True)
                assert message is not None and message.body == b"x"
        ports = [n.amqp_port for n in nodes]
    assert not any(port_open(p) for p in ports)
    assert all(n.process is not None and n.process.poll() is not None for n in nodes)
