"""Use cases of the exports read model: one per event family, each idempotent and
order-tolerant (a row keeps its newest version; the customer's newest profile wins)."""

from __future__ import annotations

from services.exports.metrics import CUSTOMER_UPDATES, ROWS_PROJECTED
from services.exports.store import ExportsStore
from services.exports.tables import (
    GENERO_SERVICIO,
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
        source: tuple[str | None, str | None] | None = (row.customer_name, row.document_number)
        stored_origin = await store.row_origin(row.row_id)
        if (
            origin
            and stored_origin
            and stored_origin != origin
            and await store.resolve_id(stored_origin) == await store.resolve_id(origin)
        ):
            # The source now names the survivor of a merge the row's customer went into:
            # the row still came from the absorbed customer, so an unmerge gives it back.
            origin, source = stored_origin, None
        facts = await store.customer(origin)
        if facts is not None:
            apply_customer(row, facts)
            if facts.anonymized and source is not None:
                source = ("", "")  # nothing personal is kept, not even to undo a merge
        is_call = row.table == "llamadas"
        served = is_call and await store.call_led_to_service(row)
        if served:
            row.status = GENERO_SERVICIO
        outcome = await store.upsert_row(row, origin, source)
        ROWS_PROJECTED.labels(row.table, outcome).inc()
        if outcome == "written" and origin:
            latest = await store.customer(origin)
            if latest is not None and latest != facts:
                await store.set_row_customer(row.row_id, latest)
        # Same race as the profile's: a service noted meanwhile is applied here.
        if outcome == "written" and is_call and not served and await store.call_led_to_service(row):
            await store.set_row_status(row.row_id, GENERO_SERVICIO)


async def on_conversation(store: ExportsStore, event: ConversationEvent) -> None:
    await project_rows(store, rows_from_conversation(event))


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
    CUSTOMER_UPDATES.labels(event.action).inc()
    log.debug("customer applied", event_id=event.event_id, action=event.action)
