"""Load benchmark: signed WhatsApp webhooks at stepped constant rates against `contactcenter up`.

For each step (e.g. 50, 100, 200, 400, 600 messages/s for ~10 s) it posts one signed Cloud
API text webhook per message on a fixed schedule (open loop: a slow platform does not slow
the sender down), and measures end to end, from "webhook answered 200" to:

- *stored*: the message is in routing's `messages` collection (`_id` = the event id
  `wa:{phone_number_id}:{wamid}`), for every message, by one batched `$in` poll;
- *visible*: `GET /api/conversations?identity=whatsapp:+<phone>` lists a conversation with
  the message, for a sample of messages sent by first-time customers (the staff API a person
  would use; sampled so the poller does not become the load).

A step is *sustained* when the sender kept its schedule (>= 95 % of the target rate), fewer
than 1 % of the webhooks failed, every message was stored within the drain timeout, and the
stored p99 stayed under a bound (default 1 s: no backlog building up). The report also gives
the highest rate whose p99 met the 250 ms target.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from shared.auth import issue_token
from shared.config import Settings

PHONE_NUMBER_ID = "106540352242922"
TEXTS = (
    "Hola, no tengo internet desde ayer",
    "Buenas tardes, quiero consultar por mi factura",
    "¿Pueden revisar mi conexión? Se corta cada rato",
    "Necesito cambiar el plan contratado",
    "Gracias, quedo a la espera",
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def whatsapp_webhook(phone: str, wamid: str, text: str, name: str) -> dict[str, Any]:
    return {
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
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": wamid,
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


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Sent:
    event_id: str
    phone: str
    accepted_at: float
    sampled: bool


@dataclass
class StepResult:
    rate: int
    seconds: float
    sent: int = 0
    accepted: int = 0
    failed: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    send_elapsed: float = 0.0
    webhook_ms: list[float] = field(default_factory=list)
    stored_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)
    not_stored: int = 0
    send_span: float = 0.0
    sustain_p99_ms: float = 1000.0
    accepted_at: dict[str, float] = field(default_factory=dict)  # event id -> accepted
    extra: dict[str, Any] = field(default_factory=dict)  # what an observer measured

    @property
    def offered_rate(self) -> float:
        """The rate the sender really kept (it falls behind only if the client is starved)."""
        return self.sent / self.send_span if self.send_span else 0.0

    @property
    def achieved_rate(self) -> float:
        """Messages accepted per second of the step's schedule."""
        return self.accepted / self.send_span if self.send_span else 0.0

    @property
    def sustained(self) -> bool:
        """Kept up: schedule kept, < 1 % refused, all stored, and no backlog (bounded p99)."""
        return (
            self.accepted > 0
            and self.offered_rate >= 0.95 * self.rate
            and self.failed <= 0.01 * max(1, self.sent)
            and self.not_stored == 0
            and percentile(self.stored_ms or self.visible_ms, 99) <= self.sustain_p99_ms
        )

    def summary(self) -> dict[str, Any]:
        def ms(values: list[float], q: float) -> float:
            return round(percentile(values, q), 1)

        return {
            "target_rate": self.rate,
            "offered_rate": round(self.offered_rate, 1),
            "achieved_rate": round(self.achieved_rate, 1),
            "sent": self.sent,
            "accepted": self.accepted,
            "failed": self.failed,
            "statuses": self.status_counts,
            "webhook_p50_ms": ms(self.webhook_ms, 50),
            "webhook_p99_ms": ms(self.webhook_ms, 99),
            "stored_p50_ms": ms(self.stored_ms, 50),
            "stored_p99_ms": ms(self.stored_ms, 99),
            "visible_samples": len(self.visible_ms),
            "visible_p50_ms": ms(self.visible_ms, 50),
            "visible_p99_ms": ms(self.visible_ms, 99),
            "not_stored": self.not_stored,
            "sustained": self.sustained,
            **self.extra,
        }


class PlatformProcess:
    """`contactcenter up` in a child process under its own port, namespace and db prefix.

    Run through `bench.instrumented_up`, which also counts the database commands it sends.
    """

    def __init__(
        self,
        settings: Settings,
        port: int,
        log_path: Path,
        db_ops_path: Path | None = None,
        *,
        service: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.port = port
        self.log_path = log_path
        self.db_ops_path = db_ops_path
        # --replicas: `contactcenter run <service>` instead of the instrumented `up`.
        self.service = service
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ)
        env.update(
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.port),
            BUS_NAMESPACE=self.settings.bus_namespace,
            MONGO_DB_PREFIX=self.settings.mongo_db_prefix,
            MONGO_URL=self.settings.mongo_url or "",
            AMQP_URL=self.settings.amqp_url,
            LOG_LEVEL="WARNING",
            DEV_MODE="true",
            AUTH_FAILURE_LIMIT="1000000",
            PREFETCH_COUNT=str(self.settings.prefetch_count),
            BENCH_DB_OPS_FILE=str(self.db_ops_path or ""),
        )
        env.update(self.extra_env)
        self.process = self._spawn(env)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"contactcenter up exited; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise RuntimeError(f"contactcenter up not ready within {timeout}s; see {self.log_path}")

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log_path.open("wb") as log:
            command = ["-m", "bench.instrumented_up"]
            if self.service:
                command = ["-m", "contactcenter.cli", "run", self.service]
            return subprocess.Popen(
                [sys.executable, *command],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float | None:
        """User+system CPU the platform process used so far (Linux /proc)."""
        if not self.process:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None


class LoadRun:
    def __init__(
        self,
        settings: Settings,
        base_url: str,
        mongo: AsyncMongoClient[dict[str, Any]] | None,
        sample_per_second: float = 2.0,
        drain_timeout: float = 20.0,
        sustain_p99_ms: float = 1000.0,
        repeat_customers: int = 500,
        stored_times: dict[str, float] | None = None,
    ) -> None:
        # When given, "stored" is read from what the bus announced (no database polling).
        self.stored_times = stored_times
        self.settings = settings
        self.base_url = base_url
        self.mongo = mongo
        self.sample_per_second = sample_per_second
        self.drain_timeout = drain_timeout
        self.sustain_p99_ms = sustain_p99_ms
        self.pool = [f"5491150{i:06d}" for i in range(repeat_customers)]
        self.token = issue_token(settings, "bench", "staff")
        self.run_id = uuid.uuid4().hex[:8]
        self._counter = 0

    def _next(self, sampled: bool) -> tuple[str, str]:
        """A fresh wamid; a first-time customer's phone when sampled, else a repeat customer's."""
        self._counter += 1
        wamid = f"wamid.bench{self.run_id}{self._counter:08d}"
        if sampled:
            return f"549{int(self.run_id, 16) % 1000:03d}{self._counter:08d}", wamid
        return random.choice(self.pool), wamid

    async def step(self, client: httpx.AsyncClient, rate: int, seconds: float) -> StepResult:
        """One constant-rate step; latency pollers run while sending, not after it."""
        result = StepResult(rate=rate, seconds=seconds, sustain_p99_ms=self.sustain_p99_ms)
        total = int(rate * seconds)
        sample_every = max(1, round(rate / self.sample_per_second))
        pending: dict[str, Sent] = {}
        watchers: list[asyncio.Task[None]] = []
        sending = asyncio.Event()
        sending.set()
        secret = self.settings.whatsapp_app_secret
        stored_task = asyncio.create_task(self._watch_stored(pending, result, sending))
        started = time.perf_counter()

        async def post(i: int) -> None:
            sampled = i % sample_every == 0
            phone, wamid = self._next(sampled)
            body = json.dumps(
                whatsapp_webhook(phone, wamid, random.choice(TEXTS), "Cliente Bench"),
                separators=(",", ":"),
            ).encode()
            t0 = time.perf_counter()
            try:
                response = await client.post(
                    "/webhooks/whatsapp",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": sign(secret, body),
                    },
                )
                key = str(response.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
                response = None
            t1 = time.perf_counter()
            result.status_counts[key] = result.status_counts.get(key, 0) + 1
            result.sent += 1
            if response is None or response.status_code != 200:
                result.failed += 1
                return
            result.accepted += 1
            result.webhook_ms.append((t1 - t0) * 1000)
            s = Sent(f"wa:{PHONE_NUMBER_ID}:{wamid}", phone, t1, sampled)
            pending[s.event_id] = s
            result.accepted_at[s.event_id] = t1
            if sampled:
                watchers.append(asyncio.create_task(self._watch_visible(client, s, result)))

        tasks: list[asyncio.Task[None]] = []
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i)))
        result.send_span = time.perf_counter() - started + 1 / rate
        await asyncio.gather(*tasks)
        result.send_elapsed = max(time.perf_counter() - started, seconds)
        sending.clear()
        await asyncio.gather(stored_task, *watchers)
        return result

    async def _watch_stored(
        self, pending: dict[str, Sent], result: StepResult, sending: asyncio.Event
    ) -> None:
        """Every 50 ms: which pending messages are stored, until none is pending or the drain
        timeout after the last send."""
        if self.stored_times is None and self.mongo is None:
            return
        deadline: float | None = None
        while True:
            for event_id, at in (await self._stored_among(list(pending))).items():
                s = pending.pop(event_id)
                result.stored_ms.append(max(0.0, at - s.accepted_at) * 1000)
            if not sending.is_set():
                deadline = deadline or time.perf_counter() + self.drain_timeout
                if not pending or time.perf_counter() > deadline:
                    break
            await asyncio.sleep(0.05)
        result.not_stored = len(pending)

    async def _stored_among(self, ids: list[str]) -> dict[str, float]:
        """When each of these messages was stored, for those that are: from the bus's
        announcements when the run has them (free for the database), else one `$in` query
        on routing's messages (which, under load, costs the database as much as the
        platform does), timed when found."""
        if self.stored_times is not None:
            return {e: self.stored_times[e] for e in ids if e in self.stored_times}
        assert self.mongo is not None
        messages = self.mongo[self.settings.db_name("routing")]["messages"]
        found: dict[str, float] = {}
        for start in range(0, len(ids), 1000):
            async for doc in messages.find({"_id": {"$in": ids[start : start + 1000]}}, {"_id": 1}):
                found[doc["_id"]] = time.perf_counter()
        return found

    async def _watch_visible(self, client: httpx.AsyncClient, s: Sent, result: StepResult) -> None:
        """Poll the staff API until it lists the sampled customer's conversation with a message."""
        headers = {"Authorization": f"Bearer {self.token}"}
        deadline = s.accepted_at + self.drain_timeout + 30
        while time.perf_counter() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                response = await client.get(
                    "/api/conversations",
                    params={"identity": f"whatsapp:+{s.phone}"},
                    headers=headers,
                )
                items = response.json().get("items", []) if response.is_success else []
                if any(item.get("message_count", 0) >= 1 for item in items):
                    result.visible_ms.append((time.perf_counter() - s.accepted_at) * 1000)
                    return
            # Polling the API is load too: a handful of samples, every 50 ms.
            await asyncio.sleep(0.05)


async def run_steps(
    settings: Settings,
    base_url: str,
    mongo: AsyncMongoClient[dict[str, Any]] | None,
    rates: list[int],
    step_seconds: float,
    budget_seconds: float,
    progress: Any = None,
    sustain_p99_ms: float = 1000.0,
    observer: Any = None,
    stored_times: dict[str, float] | None = None,
) -> list[StepResult]:
    """Run the steps in order; stop after the first step that is not sustained or on budget."""
    run = LoadRun(
        settings, base_url, mongo, sustain_p99_ms=sustain_p99_ms, stored_times=stored_times
    )
    results: list[StepResult] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    deadline = time.monotonic() + budget_seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        for rate in rates:
            if time.monotonic() + step_seconds > deadline:
                print(f"budget reached before the {rate}/s step", file=sys.stderr)
                break
            if observer:
                await observer.before()
            result = await run.step(client, rate, step_seconds)
            if observer:
                await observer.after(result)
            results.append(result)
            if progress:
                progress(result)
            if not result.sustained:
                break
            await asyncio.sleep(1.0)  # let the queues settle between steps
    return results


@contextlib.asynccontextmanager
async def mongo_client(url: str | None) -> AsyncIterator[AsyncMongoClient[dict[str, Any]] | None]:
    if not url:
        yield None
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        yield client
    finally:
        await client.close()


def summarize(results: list[StepResult], p99_target_ms: float = 250.0) -> dict[str, Any]:
    sustained = [r for r in results if r.sustained]
    within = [r for r in sustained if percentile(r.stored_ms or r.visible_ms, 99) <= p99_target_ms]
    return {
        "steps": [r.summary() for r in results],
        "max_sustained_rate": max((r.achieved_rate for r in sustained), default=0.0),
        "max_rate_within_p99_target": max((r.achieved_rate for r in within), default=0.0),
        "p99_target_ms": p99_target_ms,
    }
