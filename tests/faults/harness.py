"""Fault-test harness: the platform as real child processes that can be killed and restarted,
and the broker restarted underneath them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from contactcenter.embedded_mongo import free_port
from shared.config import Settings
from tests.support import meta_body, meta_signature

REPO = Path(__file__).resolve().parents[2]


class PlatformProcess:
    """`contactcenter up` (or `run <service>`) in a child process with the test's namespace."""

    def __init__(self, settings: Settings, *command: str) -> None:
        self.settings = settings
        self.command = command or ("up",)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cc-fault-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            AMQP_URL=s.amqp_url,
            MONGO_URL=s.mongo_url or "",
            BUS_NAMESPACE=s.bus_namespace,
            MONGO_DB_PREFIX=s.mongo_db_prefix,
            HTTP_PORT=str(self.port),
            LOG_LEVEL="INFO",
            WHATSAPP_APP_SECRET=s.whatsapp_app_secret,
            PREFETCH_COUNT=str(s.prefetch_count),
            DELIVERY_LIMIT=str(s.delivery_limit),
        )
        return env

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contactcenter.cli", *self.command],
            env=self.env(),
            stdout=log,
            stderr=log,
            cwd=REPO,
        )
        deadline = time.monotonic() + timeout
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
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def whatsapp_text(
    secret: str, phone: str, message_id: str, text: str, line: str = "106540352242922"
) -> tuple[bytes, dict[str, str]]:
    payload: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": line,
                            },
                            "contacts": [{"profile": {"name": "Cliente Prueba"}, "wa_id": phone}],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": message_id,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = meta_body(payload)
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(secret, body),
    }
