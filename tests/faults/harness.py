"""Fault-test harness: the platform as real child processes that can be killed and restarted,
and the broker (the fault tests' own node, tests/brokers.py) restarted underneath them.

A child gets exactly the test's settings: every setting is passed in its environment, no
variable of the developer's shell that names a setting gets through, and it runs in a
directory of its own, so no `.env` is read."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from contactcenter.embedded_mongo import free_port
from shared.auth import issue_token
from shared.config import Settings
from shared.contracts import ContactInfo, Identity, InboundMessage
from tests.brokers import scaled
from tests.support import meta_body, meta_signature
from tests.unit.ingest.payloads import wa_text

REPO = Path(__file__).resolve().parents[2]


class PlatformProcess:
    """`contactcenter up` (or `run <service>`) in a child process with the test's namespace."""

    def __init__(self, settings: Settings, *command: str) -> None:
        self.settings = settings
        self.command = command or ("up",)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cc-fault-{self.port}.log"
        # Its own working directory: no `.env` of the developer's checkout is read there.
        self.workdir = tempfile.mkdtemp(prefix="cc-fault-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        names = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k.upper() not in names}
        for name, value in self.settings.model_dump().items():
            if value is not None:
                env[name.upper()] = str(value)
        env.update(HTTP_PORT=str(self.port), LOG_LEVEL="INFO", PYTHONPATH=str(REPO))
        return env

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contactcenter.cli", *self.command],
            env=self.env(),
            stdout=log,
            stderr=log,
            cwd=self.workdir,
        )
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"platform exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"platform not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight messages stay unacknowledged."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


# The WhatsApp business line the fault tests write to; ingest keys events `wa:<line>:<wamid>`.
LINE = "106540352242922"


def random_phone() -> str:
    return f"549{random.randint(10**9, 10**10 - 1)}"


def whatsapp_text(
    secret: str, phone: str, message_id: str, text: str
) -> tuple[bytes, dict[str, str]]:
    """A signed WhatsApp Cloud API text webhook, as Meta posts it."""
    body = meta_body(wa_text(text, wamid=message_id, phone=phone, phone_number_id=LINE))
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(secret, body),
    }


def inbound_text(phone: str, text: str, tag: str) -> InboundMessage:
    """What ingest publishes for such a webhook, for tests that feed the bus directly."""
    external = f"wamid.{tag}{uuid.uuid4().hex}"
    return InboundMessage(
        event_id=f"wa:{LINE}:{external}",
        channel="whatsapp",
        identity=Identity(channel="whatsapp", external_id=f"+{phone}"),
        contact=ContactInfo(name="Cliente Prueba"),
        external_message_id=external,
        message_type="text",
        text=text,
    )


def staff_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, 'auditor', 'staff')}"}


async def customer_message_ids(client: httpx.AsyncClient, phone: str) -> list[str]:
    """Ids of the customer messages routing stored for a WhatsApp number, all conversations."""
    listing = await client.get("/api/conversations", params={"identity": f"whatsapp:+{phone}"})
    ids: list[str] = []
    for item in listing.json()["items"]:
        detail = await client.get(f"/api/conversations/{item['conversation_id']}")
        ids += [m["message_id"] for m in detail.json()["messages"] if m["author"] == "customer"]
    return ids
