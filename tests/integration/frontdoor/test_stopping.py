"""How `contactcenter up` stops (issue 24): on SIGTERM to the process (a service manager),
SIGINT to its process group (Ctrl-C in a terminal) or SIGKILL, every process is gone within
the shutdown deadline, the embedded database included, and its data is kept for the next
start, which finds the data directory free."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from contactcenter.embedded_mongo import free_port
from shared.config import Settings
from tests.brokers import scaled
from tests.conftest import _delete_namespace
from tests.support import meta_body, meta_signature
from tests.unit.ingest.payloads import wa_text

REPO = Path(__file__).resolve().parents[3]
SECRET = "stopping-test-secret"
DEADLINE_SECONDS = 10.0  # the bound, with the default GRACEFUL_TIMEOUT_SECONDS


def _database_servers(data_dir: Path) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--storage-path {data_dir / 'mongo'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in found.stdout.split()]


class Up:
    """One `contactcenter up` on the embedded database, in a process group of its own."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k.upper() not in ("MONGO_URL", "DATA_DIR")}
        env.update(
            AMQP_URL=settings.amqp_url,
            BUS_NAMESPACE=settings.bus_namespace,
            MONGO_DB_PREFIX=settings.mongo_db_prefix,
            DATA_DIR=str(data_dir),
            HTTP_PORT=str(self.port),
            WHATSAPP_APP_SECRET=SECRET,
            DEV_MODE="true",
            LOG_LEVEL="WARNING",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contactcenter.cli", "up"],
            env=env,
            cwd=data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + scaled(90)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.process.stderr or [""]).read()[-3000:]
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("never became ready")

    def send_message(self, text: str) -> None:
        body = meta_body(wa_text(text, wamid=f"wamid.{uuid.uuid4().hex}"))
        response = httpx.post(
            f"{self.base}/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": meta_signature(SECRET, body)},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def kill_everything(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def own_settings(settings: Settings) -> Iterator[Settings]:
    """A bus namespace of its own: on the session's namespace the test platform's consumers
    (routing.inbound is single-active-consumer) would take the messages `up` should store."""
    ns = f"s{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_"})
    yield own
    asyncio.run(_delete_namespace(own))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for pid in _database_servers(tmp_path):  # never leave a server behind, whatever failed
        os.kill(pid, signal.SIGKILL)


def _stored_messages(data_dir: Path, settings: Settings) -> int:
    url = (data_dir / "mongo.lock").read_text().strip()
    with MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        db = client[settings.db_name("routing")]
        return db["messages"].count_documents({})


@pytest.mark.parametrize("how", ["SIGTERM to the process", "SIGINT to the group", "SIGKILL"])
def test_up_stops_within_the_deadline_and_leaves_nothing_running(
    own_settings: Settings, data_dir: Path, how: str
) -> None:
    settings = own_settings
    platform = Up(settings, data_dir)
    try:
        platform.wait_ready()
        [database] = _database_servers(data_dir)
        platform.send_message("hola, quiero saber el estado de mi servicio")
        time.sleep(1)
        started = time.monotonic()
        if how == "SIGTERM to the process":
            platform.process.send_signal(signal.SIGTERM)
        elif how == "SIGINT to the group":
            os.killpg(platform.process.pid, signal.SIGINT)
        else:
            platform.process.kill()
        platform.process.wait(timeout=scaled(30))
        while _database_servers(data_dir) and time.monotonic() - started < scaled(30):
            time.sleep(0.1)
        stopped_after = time.monotonic() - started
        assert _database_servers(data_dir) == [], f"database {database} outlived {how}"
        assert stopped_after < scaled(DEADLINE_SECONDS), f"{how}: {stopped_after:.1f}s"
        if how != "SIGKILL":
            assert platform.process.returncode == 0, platform.process.stderr
    finally:
        platform.kill_everything()

    again = Up(settings, data_dir)  # the data directory is free, and the data kept
    try:
        again.wait_ready()
        assert _stored_messages(data_dir, settings) >= 1
    finally:
        again.process.send_signal(signal.SIGTERM)
        again.process.wait(timeout=scaled(30))
        again.kill_everything()
