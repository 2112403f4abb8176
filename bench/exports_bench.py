"""Benchmark of the exports Copy and Print on large tables (not a test).

Fills the exports `rows` collection directly through the store (100,000 chat rows for Copy,
10,000 consultation rows for Print), serves the exports router with uvicorn on a local port,
and reads Copy and Print over real HTTP:

- Copy: time to first byte, total time, rows/s;
- Print: total time, pages, bytes;
- peak Python memory of each request (tracemalloc, measured in a second pass so that the
  timings are not slowed by tracing) and the process's peak RSS.

Database: MONGO_URL if set, else a SecantusDB started in memory.

    .venv/bin/python bench/exports_bench.py [--copy-rows 100000] [--print-rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from fastapi import FastAPI
from pypdf import PdfReader

from contactcenter.embedded_mongo import free_port
from services.exports.api import build_router
from services.exports.store import ExportsStore
from services.exports.tables import Row
from shared.auth import issue_token
from shared.config import Settings
from shared.mongo import make_client

NAMES = ["José Martínez", "Ana Peña", "Luis Núñez", "Sofía Ibáñez", "María Gómez", "Íñigo Muñoz"]


def chat_rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        row = Row(
            table="chats",
            key=f"conv-{i:07d}",
            version=1,
            date=start + timedelta(minutes=i),
            status="abierta",
            customer_name=f"{NAMES[i % len(NAMES)]} {i}",
            document_number=f"{20_000_000 + i:,}".replace(",", "."),
            customer_id=f"cust-{i % 5000}",
            values={
                "id": f"conv-{i:07d}",
                "origen": ("WhatsApp", "Facebook", "Web")[i % 3],
                "responsable": "Lara",
                "ultimo_mensaje": "Hola, no tengo conexión desde ayer, ¿pueden revisar?",
            },
        )
        docs.append({"_id": row.row_id, **row.fields()})
    return docs


def consultation_rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        row = Row(
            table="consultas",
            key=f"cons-{i:07d}",
            version=1,
            date=start + timedelta(minutes=i),
            status="abierta",
            customer_name=f"{NAMES[i % len(NAMES)]} {i}",
            document_number=f"{30_000_000 + i}",
            values={
                "contacto": f"cliente{i}@example.com / +54911{i:08d}",
                "asunto": "Facturación: cobro duplicado del servicio de fibra óptica",
            },
        )
        docs.append({"_id": row.row_id, **row.fields()})
    return docs


async def fill(store: ExportsStore, docs: list[dict[str, Any]], batch: int = 5000) -> float:
    started = time.perf_counter()
    for i in range(0, len(docs), batch):
        await store.insert_many_rows(docs[i : i + batch])
    return time.perf_counter() - started


async def measure_copy(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    first_byte = None
    size = 0
    lines = 0
    async with client.stream("GET", "/api/tables/chats/copy", headers=headers) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    rows = lines - 1
    return {"ttfb": first_byte or total, "total": total, "rows": rows, "bytes": size}


async def measure_print(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    response = await client.get("/api/tables/consultas/print", headers=headers)
    response.raise_for_status()
    total = time.perf_counter() - started
    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    return {"total": total, "pages": pages, "bytes": len(response.content)}


async def traced_peak(action: Callable[[], Coroutine[Any, Any, Any]]) -> float:
    """Peak Python memory (MiB) allocated while `action` runs."""
    tracemalloc.start()
    try:
        await action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


async def main(copy_rows: int, print_rows: int) -> None:
    server_db = None
    mongo_url = os.environ.get("MONGO_URL")
    if not mongo_url:
        from contactcenter.embedded_mongo import EmbeddedMongo

        server_db = EmbeddedMongo(":memory:")
        mongo_url = server_db.start()
    settings = Settings(mongo_url=mongo_url, mongo_db_prefix=f"bench{os.getpid()}_")
    mongo = make_client(mongo_url)
    store = ExportsStore(mongo.get_database(settings.db_name("exports")))
    await store.ensure_indexes()

    fill_copy = await fill(store, chat_rows(copy_rows))
    fill_print = await fill(store, consultation_rows(print_rows))

    app = FastAPI()
    app.include_router(build_router(store, settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)

    headers = {"Authorization": f"Bearer {issue_token(settings, 'bench', 'staff')}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            copy = await measure_copy(client, headers)
            printed = await measure_print(client, headers)
            copy_peak = await traced_peak(lambda: measure_copy(client, headers))
            print_peak = await traced_peak(lambda: measure_print(client, headers))
    finally:
        server.should_exit = True
        await serving
        with contextlib.suppress(Exception):
            await mongo.drop_database(settings.db_name("exports"))
        await mongo.close()
        if server_db is not None:
            server_db.stop()

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {'MONGO_URL' if os.environ.get('MONGO_URL') else 'SecantusDB :memory:'}")
    print(f"fill: {copy_rows} chats {fill_copy:.1f}s, {print_rows} consultas {fill_print:.1f}s")
    print()
    print(f"| {'measure':<34} | {'value':>14} |")
    print(f"|{'-' * 36}|{'-' * 16}|")
    table = [
        ("Copy rows", f"{copy['rows']:,.0f}"),
        ("Copy time to first byte (s)", f"{copy['ttfb']:.3f}"),
        ("Copy total (s)", f"{copy['total']:.2f}"),
        ("Copy rows/s", f"{copy['rows'] / copy['total']:,.0f}"),
        ("Copy size (MiB)", f"{copy['bytes'] / 2**20:.1f}"),
        ("Copy peak Python memory (MiB)", f"{copy_peak:.1f}"),
        ("Print rows", f"{print_rows:,}"),
        ("Print total (s)", f"{printed['total']:.2f}"),
        ("Print pages", f"{printed['pages']:.0f}"),
        ("Print size (MiB)", f"{printed['bytes'] / 2**20:.1f}"),
        ("Print peak Python memory (MiB)", f"{print_peak:.1f}"),
        ("Process peak RSS (MiB, incl. fill)", f"{rss:.0f}"),
    ]
    for name, value in table:
        print(f"| {name:<34} | {value:>14} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy-rows", type=int, default=100_000)
    parser.add_argument("--print-rows", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.copy_rows, args.print_rows))
