"""An alert fires through a real Prometheus when its fault really happens, and not before.

Debian's `prometheus` runs with the project's own configuration (`deploy/prometheus/
prometheus.yml`, its rule file `alerts.yml` unchanged) pointed at a real `contactcenter up`
of this test's own namespace, scraped and evaluated every second. The fault is real: a
message the platform cannot read reaches routing's queue and is dead-lettered. Then
`DeadLetterQueueNotEmpty` (for: 1m in the rule) must go pending and then firing, as
Prometheus's own API says. (`promtool test rules` covers every alert's expression:
deploy/prometheus/alerts.test.yml.)
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import yaml

from contactcenter.embedded_mongo import free_port
from shared.bus import Bus, make_broker
from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.faults.harness import PlatformProcess
from tests.tools import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
ALERT = "DeadLetterQueueNotEmpty"


@pytest.fixture(scope="module")
def live(settings: Settings) -> Iterator[tuple[PlatformProcess, Settings]]:
    ns = f"a{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"})
    platform = PlatformProcess(own, "up")
    platform.start()
    try:
        yield platform, own
    finally:
        platform.stop()
        asyncio.run(_delete_namespace(own))


def _config(target: str, workdir: Path) -> Path:
    """The project's prometheus.yml, its targets replaced by the platform under test."""
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    shutil.copy(DEPLOY / "alerts.yml", workdir / "alerts.yml")
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == "contactcenter"]
    jobs[0]["static_configs"] = [{"targets": [target], "labels": {"service": "platform"}}]
    config["scrape_configs"] = jobs
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


class Prometheus:
    def __init__(self, config: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                require_tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "prometheus.log").open("wb"),
        )

    def alert(self, name: str) -> str | None:
        """The alert's state (`pending`, `firing`) as Prometheus's API says, or None."""
        answer = httpx.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        states = [a["state"] for a in answer["data"]["alerts"] if a["labels"]["alertname"] == name]
        return states[0] if states else None

    def rule_evaluated(self, name: str) -> bool:
        answer = httpx.get(f"{self.url}/api/v1/rules", timeout=5).json()
        rules = [r for g in answer["data"]["groups"] for r in g["rules"] if r["name"] == name]
        return bool(rules) and rules[0]["lastEvaluation"] > "2000"

    def scraped(self) -> bool:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": "up"}, timeout=5).json()
        return any(r["value"][1] == "1" for r in answer["data"]["result"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except httpx.HTTPError:
            pass  # Prometheus still starting
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


async def _poison(settings: Settings) -> None:
    """A message routing cannot read, straight onto its inbound queue."""
    queue = Bus(settings, make_broker(settings)).queue_name("routing", "inbound")
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(b"\x00 not an event", delivery_mode=2)
        await channel.default_exchange.publish(message, routing_key=queue)


def test_dead_lettering_fires_its_alert_through_prometheus(
    live: tuple[PlatformProcess, Settings],
) -> None:
    platform, settings = live
    with tempfile.TemporaryDirectory(prefix="cc-prometheus-") as tmp:
        workdir = Path(tmp)
        prometheus = Prometheus(_config(f"127.0.0.1:{platform.port}", workdir), workdir)
        try:
            _wait(prometheus.scraped, 60, "Prometheus to scrape the platform")
            _wait(lambda: prometheus.rule_evaluated(ALERT), 30, "the rule to be evaluated")
            time.sleep(3)  # a few evaluations of a healthy platform
            assert prometheus.alert(ALERT) is None, "fired with nothing dead-lettered"

            asyncio.run(_poison(settings))
            _wait(lambda: prometheus.alert(ALERT) == "pending", 60, f"{ALERT} pending")
            _wait(lambda: prometheus.alert(ALERT) == "firing", 120, f"{ALERT} firing")
        finally:
            prometheus.stop()
