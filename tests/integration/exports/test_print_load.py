"""Issue 16 #7: Prints are bounded per user and overall, and render outside the serving
process, so the event loop (webhooks, consumers, /healthz) stays responsive meanwhile.

No speed goal here: every check compares the platform with itself during the same Print
(the loop's pauses against the Print's own duration, this process's CPU during the Print
against the CPU the same layout costs when done here)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from prometheus_client import REGISTRY

from services.exports.printing import render_pdf
from services.exports.tables import TABLES, row_cells, rows_from_conversation
from tests.support import Platform, eventually
from tests.unit.exports.factories import at, chat_event, uid

ROWS = 4000


async def _seed(platform: Platform, token: str) -> list[list[str]]:
    """Many chat rows straight into the read model (the projection is tested elsewhere);
    the cells Print lays out for them."""
    docs = []
    for i in range(ROWS):
        event = chat_event(
            name=f"Cliente Número {i:05d} {token}",
            preview="Hola, tengo un problema con la conexión desde ayer a la tarde " * 2,
            holder="staff:ana",
            opened_at=at("2024-06-01T10:00") + timedelta(minutes=i),
        )
        [row] = rows_from_conversation(event)
        docs.append(row.fields() | {"_id": row.row_id})
    await platform.db("exports")["rows"].insert_many(docs, ordered=False)
    chats = TABLES["chats"]
    tz = ZoneInfo(platform.settings.tz)
    cells = [row_cells(chats, doc, tz) for doc in docs]
    return [[c[k] for k in chats.keys] for c in cells]


def _running() -> float:
    return REGISTRY.get_sample_value("cc_exports_prints_running") or 0.0


async def _print(platform: Platform, token: str, user: str) -> httpx.Response:
    return await platform.http.get(
        "/api/tables/chats/print",
        params={"q": token},
        headers=platform.auth(user, "agent"),
        timeout=300,
    )


async def test_prints_over_the_bounds_are_refused_with_429(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await _seed(platform, token)
    first = asyncio.create_task(_print(platform, token, f"u1-{token}"))
    await eventually(lambda: asyncio.sleep(0, result=_running() >= 1), timeout=60)
    again = await _print(platform, token, f"u1-{token}")
    assert again.status_code == 429, again.text
    assert "per user" in again.text
    second = asyncio.create_task(_print(platform, token, f"u2-{token}"))
    await eventually(lambda: asyncio.sleep(0, result=_running() >= 2), timeout=60)
    third = await _print(platform, token, f"u3-{token}")
    assert third.status_code == 429, third.text
    assert "at once" in third.text
    assert third.headers["retry-after"]
    assert (await first).status_code == 200
    assert (await second).status_code == 200
    # Slots are given back: the same user prints again.
    assert (await _print(platform, token, f"u1-{token}")).status_code == 200


async def test_a_big_print_does_not_hold_the_event_loop(platform: Platform) -> None:
    token = f"Zq{uid()}"
    rows = await _seed(platform, token)
    await _print(platform, "nadie-coincide", "warmup")  # starts the worker processes
    pauses: list[float] = []
    done = asyncio.Event()

    async def probe_health() -> None:
        while not done.is_set():
            started = time.perf_counter()
            response = await platform.http.get("/healthz")
            assert response.status_code == 200
            pauses.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)  # a light probe: its own CPU stays small

    prober = asyncio.create_task(probe_health())
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    response = await _print(platform, token, f"grande-{token}")
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    done.set()
    await prober
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF")
    # The loop answered all along: its longest pause is a small part of the Print.
    assert len(pauses) >= 5, pauses
    assert max(pauses) < wall / 5, (max(pauses), wall)
    # The layout ran elsewhere: during the Print this process spent (loading the rows and
    # answering the probes) well under what the layout alone costs when done in-process.
    layout_started = time.process_time()
    render_pdf("Chats", ["Filtros"], TABLES["chats"].labels, rows)
    layout_cpu = time.process_time() - layout_started
    assert cpu < layout_cpu * 0.5, (cpu, layout_cpu)
