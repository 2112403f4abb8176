"""Use cases of the exports read model: one per event family, each idempotent and
order-tolerant (a row keeps its newest version; the customer's newest profile wins)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from services.exports.metrics import CUSTOMER_UPDATES, ROWS_PROJECTED
from services.exports.store import ExportsStore
from services.exports.tables import (
    CALL_TABLES,
    GENERO_SERVICIO,
    CustomerFacts,
    Row,
    apply_customer,
    customer_facts,
    rows_from_consultation,
    rows_from_conversation,
    rows_from_ticket,
)
from shared.contracts import ConsultationEvent, ConversationEvent, CustomerEvent, TicketEvent
from shared.logging import get_logger

log = get_logger("exports")


async def project_rows(store: ExportsStore, rows: list[Row]) -> None:
    """Store each row as its customer's current profile shows it, in a few bulk commands
    (a batch of chat traffic costs the same handful of round trips as one event).

    - The row keeps naming the customer its source named (`origin_customer_id`), with the
      name and document the source carried, to give it back exactly on unmerge; when a
      newer snapshot names the survivor of a merge that customer went into, the row still
      came from the absorbed one.
    - A call row from which a technical service came shows GENERÓ SERVICIO TÉCNICO.
    - The profile (and the services) are read again after the write: a customer or ticket
      event handled concurrently either stored its part before that second read (and we
      apply it here) or updates the rows after our write (and reaches this row itself).
    """
    if not rows:
        return
    stored_origins = await store.row_origins([row.row_id for row in rows])
    ids = {r.customer_id for r in rows if r.customer_id} | {o for o in stored_origins.values() if o}
    facts = await store.customers_of(ids)
    origins: dict[str, str | None] = {}
    sources: dict[str, tuple[str | None, str | None]] = {}
    for row in rows:
        origin = row.customer_id
        source: tuple[str | None, str | None] | None = (row.customer_name, row.document_number)
        before = stored_origins.get(row.row_id)
        if origin and before and before != origin and _same_customer(facts, before, origin):
            origin, source = before, None
        origins[row.row_id] = origin
        profile = facts.get(origin) if origin else None
        if profile is not None:
            apply_customer(row, profile)
            if profile.anonymized and source is not None:
                source = ("", "")  # nothing personal is kept, not even to undo a merge
        if source is not None:
            sources[row.row_id] = source
    calls = [row for row in rows if row.table == "llamadas"]
    served = await store.calls_with_service(calls)
    for row in calls:
        if row.row_id in served:
            row.status = GENERO_SERVICIO
    written = await store.upsert_rows([(row, origins[row.row_id]) for row in rows], sources)
    for row in rows:
        ROWS_PROJECTED.labels(row.table, "written" if row.row_id in written else "stale").inc()
    latest = await store.customers_of(ids) if ids else {}
    for row in rows:
        origin = origins[row.row_id]
        if origin and origin in latest and latest[origin] != facts.get(origin):
            await store.set_row_customer(row.row_id, latest[origin])
    pending = [row for row in calls if row.row_id not in served]
    for row_id in await store.calls_with_service(pending):
        await store.set_row_status(row_id, GENERO_SERVICIO)
    await store.name_rows_by_phone([row for row in rows if row.table in CALL_TABLES])


def _same_customer(facts: dict[str, CustomerFacts], one: str, other: str) -> bool:
    """Both ids stand for the same customer now (one was merged into the other)."""
    return one in facts and other in facts and facts[one].customer_id == facts[other].customer_id


async def on_conversation(store: ExportsStore, event: ConversationEvent) -> None:
    await on_conversations(store, [event])


# Actions that change only what a chat row shows per message (its last message).
CHAT_LINE_ACTIONS = frozenset({"message_received", "message_sent", "seen"})


async def on_conversations(
    store: ExportsStore,
    events: list[ConversationEvent],
    chat_lines: ChatLineCoalescer | None = None,
) -> None:
    """A batch of conversation events: the newest snapshot of each row, projected at once.
    With `chat_lines`, a chat row whose change is only a new chat line is written at most
    once per window (status, holder, customer and the rest are written at once)."""
    newest: dict[str, Row] = {}
    lines_only: dict[str, bool] = {}
    for event in events:
        line_only = set(event.actions or [event.action]) <= CHAT_LINE_ACTIONS
        for row in rows_from_conversation(event):
            lines_only[row.row_id] = lines_only.get(row.row_id, True) and line_only
            if row.row_id not in newest or row.version > newest[row.row_id].version:
                newest[row.row_id] = row
    rows = list(newest.values())
    if chat_lines is not None:
        rows = chat_lines.now(rows, lines_only)
    await project_rows(store, rows)


class ChatLineCoalescer:
    """Chat rows written once per window (seconds, `EXPORTS_CHAT_LINE_SECONDS`), not per line.

    What a chat row shows per message (its last message) changes with every line; the
    database's cost is per document written. A row written less than `window` seconds ago
    whose change is only a new line waits (its newest version) and is written when the
    window ends. Rows are versioned, so a later write of any kind supersedes a waiting one.
    A process that stops writes what waits (`flush`); one that dies loses only the wait: the
    conversation's next event writes the row again."""

    def __init__(self, store: ExportsStore, window: float = 1.0) -> None:
        self.store = store
        self.window = window
        self._written_at: dict[str, float] = {}
        self._waiting: dict[str, Row] = {}
        self._task: asyncio.Task[None] | None = None

    def now(self, rows: list[Row], lines_only: dict[str, bool]) -> list[Row]:
        """The rows to write now; the others wait."""
        clock = time.monotonic()
        self._written_at = {k: t for k, t in self._written_at.items() if clock - t < self.window}
        out: list[Row] = []
        for row in rows:
            waiting = self._waiting.get(row.row_id)
            if waiting is not None and waiting.version > row.version:
                continue  # an older snapshot: the waiting one is newer
            recent = row.row_id in self._written_at
            if row.table == "chats" and recent and lines_only.get(row.row_id, False):
                self._waiting[row.row_id] = row
                continue
            self._waiting.pop(row.row_id, None)
            self._written_at[row.row_id] = clock
            out.append(row)
        if self._waiting and self._task is None:
            self._task = asyncio.create_task(self._write_waiting(), name="exports-chat-lines")
        return out

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self.window)
                await self._write_now()
        finally:
            self._task = None

    async def _write_now(self) -> None:
        rows, self._waiting = list(self._waiting.values()), {}
        clock = time.monotonic()
        for row in rows:
            self._written_at[row.row_id] = clock
        try:
            await project_rows(self.store, rows)
        except Exception as exc:  # the conversation's next event writes them
            log.warning("chat_lines_not_written", rows=len(rows), error=repr(exc))

    async def flush(self) -> None:
        """On stop, after the consumers drained: what waits is written now, not lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._waiting:
            await self._write_now()


async def on_ticket(store: ExportsStore, event: TicketEvent) -> None:
    """A service's row; and the call it came from now shows GENERÓ SERVICIO TÉCNICO."""
    service = event.service
    if service is not None and (service.call_sid or service.conversation_id):
        await store.note_call_service(service.call_sid, service.conversation_id)
    await project_rows(store, rows_from_ticket(event))


async def on_consultation(store: ExportsStore, event: ConsultationEvent) -> None:
    await project_rows(store, rows_from_consultation(event))


async def on_customer(store: ExportsStore, event: CustomerEvent) -> None:
    """Renames, merges, unmerges and anonymization reach every row of the customer."""
    facts = customer_facts(event.customer)
    current = await store.save_customer(facts)
    if event.customer.merged_into:
        await store.mark_merged(facts.customer_id, event.customer.merged_into)
    absorbed = event.merged_customer_id or (
        event.merged_customer.customer_id if event.merged_customer else None
    )
    if event.merged_customer is not None:
        await store.save_customer(customer_facts(event.merged_customer))
    if event.action == "merged" and absorbed:
        await store.mark_merged(absorbed, facts.customer_id)
        # A stale survivor profile still moves the rows; the newest profile then applies.
        latest = await store.customer(facts.customer_id) or facts
        await store.apply_customer_to_rows(absorbed, latest)
    elif event.action == "unmerged" and absorbed:
        await store.mark_merged(absorbed, None)
        await store.restore_origin_rows(absorbed, await store.own_profile(absorbed))
    if current:
        await store.apply_customer_to_rows(facts.customer_id, facts)
        # A caller whose phone is this customer's is named by it (seed 004: "en caso de
        # ser un cliente el nombre del mismo").
        await store.name_calls_by_phone(facts)
    CUSTOMER_UPDATES.labels(event.action).inc()
    log.debug("customer applied", event_id=event.event_id, action=event.action)
