"""What the benchmark measures beside latency: CPU of each process (from /proc), the bus
traffic the platform caused (from its /metrics), Lara's answers reaching the bus, and a
database preloaded with N conversations and customers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from services.routing.timeline import derived_id
from shared.config import Settings
from shared.ids import first_customer_id


def cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU a process (all its threads) used so far."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def broker_pid() -> int | None:
    """The Erlang VM of the broker the platform talks to (the default node)."""
    try:
        out = subprocess.run(
            ["rabbitmqctl", "eval", "os:getpid()."],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
        return int(out.strip().strip('"'))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


class CpuMeter:
    """CPU seconds of named processes between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.before: dict[str, float | None] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        for name, pid in self.pids.items():
            now, then = cpu_seconds(pid), self.before.get(name)
            if now is not None and then is not None:
                self.used[name] = now - then
        return self.used


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+)$")


async def metric_totals(base_url: str) -> dict[str, float]:
    """Sum of each counter of the platform's /metrics over its labels."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{base_url}/metrics")).text
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1).endswith("_total"):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(3))
    return totals


def bus_traffic(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Publishes (confirmed by the broker) and deliveries (consumed by batched consumers or
    FastStream subscribers) between two /metrics readings."""

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    return {
        "publishes": delta("cc_published_events_total"),
        "deliveries": delta("cc_consumed_messages_total")
        + delta("faststream_received_messages_total"),
    }


class OutboundProbe:
    """Binds a queue to `outbound.#` and `conversation.#` and records when each reply
    reached the broker (so Lara's answer is timed from the webhook that caused it) and when
    each message was announced as stored (routing publishes a conversation event after the
    messages it appended are in its database; the event lists them). Watching the bus costs
    the database nothing, unlike polling it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.arrived: dict[str, float] = {}
        self.stored: dict[str, float] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.settings.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(f"{self.settings.bus_namespace}.contact.events")
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="outbound.#")
        await queue.bind(exchange, routing_key="conversation.#")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            now = time.perf_counter()
            body = json.loads(message.body)
            if str(message.routing_key).startswith("outbound."):
                self.arrived[body["event_id"]] = now
            for message_id in body.get("message_ids") or []:
                self.stored.setdefault(message_id, now)

        await queue.consume(on_message, no_ack=True)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def lara_answer_ms(self, accepted: dict[str, float]) -> list[float]:
        """Webhook accepted → Lara's reply to it on the bus, for every answered message."""
        out = []
        for event_id, at in accepted.items():
            reply = self.arrived.get(derived_id(event_id, "lara", "0"))
            if reply is not None:
                out.append((reply - at) * 1000)
        return out


async def preload(mongo_url: str, settings: Settings, count: int, batch: int = 1000) -> float:
    """Write `count` customers (with their WhatsApp identity) and `count` closed
    conversations with two messages each, shaped as the services store them; seconds taken."""
    started = time.perf_counter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    customers = client[settings.db_name("customers")]
    routing = client[settings.db_name("routing")]
    exports = client[settings.db_name("exports")]
    now = datetime.now(UTC)
    try:
        for start in range(0, count, batch):
            people, identities, conversations, messages, rows = [], [], [], [], []
            for i in range(start, min(count, start + batch)):
                phone = f"+5493{i:09d}"
                key = f"whatsapp:{phone}"
                customer_id = first_customer_id(key)
                at = now - timedelta(days=30, minutes=i)
                people.append(_customer(customer_id, f"Precargado {i}", phone, at))
                identities.append(
                    {
                        "_id": key,
                        "channel": "whatsapp",
                        "external_id": phone,
                        "customer_id": customer_id,
                        "blocked": False,
                        "first_seen_at": at,
                        "last_seen_at": at,
                        "contact_count": 1,
                    }
                )
                cid = str(uuid.uuid4())
                conversations.append(_conversation(cid, key, phone, customer_id, i, at))
                for seq, (author, text) in enumerate(
                    (("customer", "hola, consulta vieja"), ("lara", "Bienvenido"))
                ):
                    messages.append(
                        {
                            "_id": derived_id(cid, str(seq)),
                            "conversation_id": cid,
                            "identity_key": key,
                            "direction": "inbound" if author == "customer" else "outbound",
                            "author": author,
                            "text": text,
                            "message_type": "text",
                            "at": at,
                            "seq": seq,
                            "delivery": None,
                        }
                    )
                rows.append(
                    {
                        "_id": f"chats:{cid}",
                        "table": "chats",
                        "customer_id": customer_id,
                        "version": 3,
                        "at": at,
                        "status": "cerrada",
                        "search": f"precargado {i} {phone}",
                    }
                )
            await customers["customers"].insert_many(people, ordered=False)
            await customers["identities"].insert_many(identities, ordered=False)
            await routing["conversations"].insert_many(conversations, ordered=False)
            await routing["messages"].insert_many(messages, ordered=False)
            await exports["rows"].insert_many(rows, ordered=False)
    finally:
        await client.close()
    return time.perf_counter() - started


def _customer(customer_id: str, name: str, phone: str, at: datetime) -> dict[str, Any]:
    first, last = name.split(" ", 1)
    return {
        "_id": customer_id,
        "status": "active",
        "merged_into": None,
        "first_name": first,
        "last_name": last,
        "display_name": name,
        "mobile_phone": phone,
        "tags": [],
        "staff_edited": [],
        "search_keys": [first.lower(), last.lower(), phone.lstrip("+")],
        "match_keys": [f"phone:{phone.lstrip('+')}"],
        "anonymized": False,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }


def _conversation(
    cid: str, key: str, phone: str, customer_id: str, i: int, at: datetime
) -> dict[str, Any]:
    return {
        "_id": cid,
        "channel": "whatsapp",
        "identity": {"channel": "whatsapp", "external_id": phone},
        "identity_key": key,
        "status": "cerrada",
        "holder": "lara",
        "holder_kind": "lara",
        "queue": None,
        "opened_at": at,
        "closed_at": at,
        "last_message_at": at,
        "last_message_preview": "Bienvenido",
        "last_activity_at": at,
        "message_count": 2,
        "customer_id": customer_id,
        "customer_name": f"Precargado {i}",
        "version": 4,
        "outbox": [],
    }


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)
