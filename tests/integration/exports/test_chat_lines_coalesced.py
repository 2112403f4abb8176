"""A chat row is written per second, not per chat line: its last message waits out the
window; a change of status, holder or customer is written at once."""

from __future__ import annotations

import asyncio

from services.exports.handlers import ChatLineCoalescer, on_conversations
from services.exports.store import ExportsStore
from tests.support import Platform, eventually
from tests.unit.exports.factories import chat_event, uid


async def test_chat_lines_are_written_once_per_window_and_a_status_change_at_once(
    platform: Platform,
) -> None:
    store = ExportsStore(platform.db(f"exports_lines_{uid()}"))
    rows = store.rows
    lines = ChatLineCoalescer(store, window=1.0)
    cid = f"conv-{uid()}"

    async def shown() -> str | None:
        doc = await rows.find_one({"_id": f"chats:{cid}"})
        return doc["values"]["ultimo_mensaje"] if doc else None

    await on_conversations(store, [chat_event(conversation_id=cid, action="opened")], lines)
    assert await shown() == "Hola, necesito ayuda"
    for version, text in ((2, "segunda"), (3, "tercera"), (4, "cuarta")):
        line = chat_event(conversation_id=cid, preview=text, version=version)
        await on_conversations(store, [line], lines)
    assert await shown() == "Hola, necesito ayuda"  # within the window: waiting
    await eventually(lambda: _is(shown, "cuarta"), timeout=5)  # the newest, once

    taken = chat_event(
        conversation_id=cid, preview="cuarta", holder="staff:eva", version=5, action="taken"
    )
    await on_conversations(store, [taken], lines)  # right after a write: still at once
    doc = await rows.find_one({"_id": f"chats:{cid}"})
    assert doc is not None and doc["version"] == 5
    await asyncio.sleep(1.2)
    assert lines._waiting == {}


async def _is(read, expected: str) -> bool:  # type: ignore[no-untyped-def]
    return await read() == expected


async def test_a_stopping_exports_writes_the_lines_still_waiting(platform: Platform) -> None:
    store = ExportsStore(platform.db(f"exports_lines_{uid()}"))
    lines = ChatLineCoalescer(store, window=60.0)
    cid = f"conv-{uid()}"
    await on_conversations(store, [chat_event(conversation_id=cid, action="opened")], lines)
    waiting = chat_event(conversation_id=cid, preview="la última antes de parar", version=2)
    await on_conversations(store, [waiting], lines)
    doc = await store.rows.find_one({"_id": f"chats:{cid}"})
    assert doc is not None and doc["version"] == 1  # a minute's window: still waiting

    await lines.flush()  # what the service's stop does after its consumers drained

    doc = await store.rows.find_one({"_id": f"chats:{cid}"})
    assert doc is not None and doc["version"] == 2
    assert doc["values"]["ultimo_mensaje"] == "la última antes de parar"
    assert lines._waiting == {}
