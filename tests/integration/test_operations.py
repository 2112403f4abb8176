"""Operators' view against the real broker: queue-depth gauges and a valid /metrics exposition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY

from contactcenter.ops_metrics import QueueMonitor, WatchedQueue, watched_queues
from tests.support import eventually
from tests.tools import require_tool


@pytest.fixture
async def monitor(platform: Any) -> AsyncIterator[QueueMonitor]:
    mon = QueueMonitor(platform.settings, interval_seconds=0.2)
    await mon.start()
    yield mon
    await mon.stop()


async def _publish_to_queue(amqp_url: str, queue_name: str, body: bytes) -> None:
    """Put a message straight into a queue through the default exchange."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=queue_name,
            mandatory=True,
        )


async def _purge(amqp_url: str, queue_name: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        await queue.purge()


def _sample(name: str, labels: dict[str, str]) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_a_message_in_a_dead_letter_queue_shows_in_the_dead_lettered_gauge(
    platform: Any, monitor: QueueMonitor
) -> None:
    dlq = f"{platform.settings.bus_namespace}.exports.dlq"
    await _publish_to_queue(platform.settings.amqp_url, dlq, b'{"poison": true}')
    try:
        await eventually(
            lambda: _async(_sample("cc_dead_lettered_messages", {"service": "exports"}) == 1.0)
        )
        assert _sample("cc_queue_messages", {"queue": "exports.dlq"}) == 1.0
    finally:
        await _purge(platform.settings.amqp_url, dlq)
    await eventually(
        lambda: _async(_sample("cc_dead_lettered_messages", {"service": "exports"}) == 0.0)
    )


async def test_queue_labels_carry_no_namespace(platform: Any, monitor: QueueMonitor) -> None:
    await monitor.poll_once()
    namespace = platform.settings.bus_namespace
    labels = [
        s.labels.get("queue", "")
        for metric in REGISTRY.collect()
        if metric.name == "cc_queue_messages"
        for s in metric.samples
    ]
    assert "routing.inbound" in labels
    assert all(namespace not in label for label in labels)


async def test_a_missing_queue_is_counted_as_a_poll_failure_not_raised(platform: Any) -> None:
    before = _sample("cc_queue_poll_failures_total", {}) or 0.0
    mon = QueueMonitor(platform.settings, [WatchedQueue("no.such.queue")])
    try:
        await mon.poll_once()
        await mon.poll_once()  # the channel closed by the 404 is reopened
    finally:
        await mon.stop()
    assert (_sample("cc_queue_poll_failures_total", {}) or 0.0) == before + 2
    assert _sample("cc_queue_messages", {"queue": "no.such.queue"}) is None


def test_each_process_watches_only_the_queues_of_its_services() -> None:
    ingest = {q.label for q in watched_queues(["ingest"])}
    assert ingest == {"ingest.raw", "ingest.dlq"}
    routing = {q.label for q in watched_queues(["routing"])}
    assert "routing.inbound" in routing and "connector.whatsapp" in routing
    assert not any(label.startswith("exports.") for label in routing)


async def test_platform_metrics_pass_promtool_check(platform: Any, monitor: QueueMonitor) -> None:
    promtool = require_tool("promtool")
    await monitor.poll_once()
    response = await platform.http.get("/metrics")
    assert response.status_code == 200
    assert "cc_queue_messages" in response.text
    proc = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(response.content)
    assert proc.returncode == 0, out.decode()


async def _async(value: bool) -> bool:
    return value


async def test_simulation_drives_all_four_channels_and_the_platform_accepts_them(
    platform: Any,
) -> None:
    import httpx

    from contactcenter.simulate import simulate

    tally = await simulate(
        platform.settings,
        "http://testserver",
        customers=8,
        seconds=2.0,
        seed=7,
        transport=httpx.ASGITransport(app=platform.app),
        progress=False,
    )
    assert set(tally.sent) == {"whatsapp", "messenger", "webchat", "ivr"}
    assert tally.accepted == tally.total, tally.failures[:5]
