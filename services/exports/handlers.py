"""Use cases of the exports read model: one per event family, each idempotent and
order-tolerant (a row keeps its newest version; the customer's newest profile wins)."""

from __future__ import annotations

from services.exports.metrics import CUSTOMER_UPDATES, ROWS_PROJECTED
from services.exports.store import ExportsStore
from services.exports.tables import (
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
    """Store each row as its customer's current profile shows it.

    The profile is read again after the write: a customer event handled concurrently either
    stored its profile before that second read (and we apply it here) or updates the rows
    after our write (and reaches this row itself), so no rename is lost to the race.
    """
    for row in rows:
        origin = row.customer_id
        facts = await store.customer(origin)
        if facts is not None:
            apply_customer(row, facts)
        outcome = await store.upsert_row(row, origin)
        ROWS_PROJECTED.labels(row.table, outcome).inc()
        if outcome == "written" and origin:
            latest = await store.customer(origin)
            if latest is not None and latest != facts:
                await store.set_row_customer(row.row_id, latest)


async def on_conversation(store: ExportsStore, event: ConversationEvent) -> None:
    await project_rows(store, rows_from_conversation(event))


async def on_conversations(store: ExportsStore, events: list[ConversationEvent]) -> None:
    """`project_rows` for a batch of conversation events: the newest snapshot of each row,
    the customers' profiles in one read, the rows in one bulk write, then the same second
    read as `project_rows` (a customer event handled meanwhile is not lost to the race)."""
    newest: dict[str, Row] = {}
    for event in events:
        for row in rows_from_conversation(event):
            if row.row_id not in newest or row.version > newest[row.row_id].version:
                newest[row.row_id] = row
    rows = list(newest.values())
    origins = {r.row_id: r.customer_id for r in rows}
    ids = {r.customer_id for r in rows if r.customer_id}
    facts = await store.customers_of(ids)
    for row in rows:
        if row.customer_id in facts:
            apply_customer(row, facts[row.customer_id])
    written = await store.upsert_rows([(r, origins[r.row_id]) for r in rows])
    table = rows[0].table if rows else "chats"
    ROWS_PROJECTED.labels(table, "written").inc(written)
    ROWS_PROJECTED.labels(table, "stale").inc(len(rows) - written)
    latest = await store.customers_of(ids) if ids else {}
    for row in rows:
        origin = origins[row.row_id]
        if origin and origin in latest and latest[origin] != facts.get(origin):
            await store.set_row_customer(row.row_id, latest[origin])


async def on_ticket(store: ExportsStore, event: TicketEvent) -> None:
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
    CUSTOMER_UPDATES.labels(event.action).inc()
    log.debug("customer applied", event_id=event.event_id, action=event.action)
