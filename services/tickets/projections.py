"""What tickets keeps of other services' events: the conversations (to create services
from them), IVR sales calls, and anonymized customers erased.
"""

from __future__ import annotations

from typing import Any

from services.tickets import domain
from services.tickets.metrics import SALES_CALLS_TOTAL
from services.tickets.store import TicketsStore
from services.tickets.writes import CAS_ATTEMPTS, Publisher, stamp
from shared.contracts.conversation import ConversationEvent
from shared.contracts.customer import CustomerEvent
from shared.contracts.ticket import SalesCall
from shared.logging import bind_context, get_logger
from shared.mongo import Document

log = get_logger("tickets")


class Projections:
    def __init__(self, store: TicketsStore, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    async def on_conversation_events(self, events: list[ConversationEvent]) -> None:
        """Keep the projection of the conversations (the newest snapshot of each, one bulk
        write for the batch); erase anonymized customers and record IVR sales calls (a few
        per call), one by one (idempotent)."""
        newest: dict[str, Document] = {}
        for event in events:
            snap = event.conversation
            if not domain.worth_projecting(event.action, snap.call is not None):
                continue
            current = newest.get(snap.conversation_id)
            if current is None or snap.version > current["version"]:
                doc = snap.model_dump()
                doc.pop("conversation_id")
                newest[snap.conversation_id] = doc
        await self.store.project_conversations(newest)
        for event in events:
            snap = event.conversation
            with bind_context(event_id=event.event_id, conversation_id=snap.conversation_id):
                if event.change == "customer_anonymized":
                    await self.anonymize(snap.customer_id, snap.conversation_id)
                call = snap.call
                if call is not None and domain.is_sales_call(snap.channel, call.motive):
                    incoming: dict[str, Any] = {
                        "conversation_id": snap.conversation_id,
                        "customer_id": snap.customer_id,
                        "customer_name": snap.customer_name,
                        "document_number": snap.document_number,
                        "caller_number": call.caller_number,
                        "city": call.city,
                        "motive": call.motive,
                        "call_status": call.call_status,
                    }
                    await self._record_sales_call(
                        call.call_sid, snap.version, snap.opened_at, incoming
                    )

    async def on_customer_event(self, event: CustomerEvent) -> None:
        """An anonymized customer disappears from every service, sales call, consultation
        and conversation tickets keeps (redeliveries change nothing more)."""
        if event.action == "anonymized" or event.customer.anonymized:
            await self.anonymize(event.customer.customer_id, None)

    async def anonymize(self, customer_id: str | None, conversation_id: str | None) -> None:
        with bind_context(conversation_id=conversation_id):
            changed = await self.store.anonymize(customer_id, conversation_id)
            log.info("customer_anonymized_in_tickets", services=changed)

    async def _record_sales_call(
        self, call_sid: str, version: int, received_at: Any, incoming: dict[str, Any]
    ) -> None:
        for _ in range(CAS_ATTEMPTS):
            current = await self.store.get_sales_call(call_sid)
            if current is None:
                now = stamp()
                sales_call = SalesCall(
                    call_sid=call_sid, received_at=received_at, updated_at=now, **incoming
                )
                doc = {"_id": call_sid, "conversation_version": version, **sales_call.model_dump()}
                if await self.store.insert_sales_call(doc):
                    SALES_CALLS_TOTAL.labels("recorded").inc()
                    log.info("sales_call_recorded", call_sid=call_sid)
                    await self.publisher.emit_sales_call(sales_call)
                    return
                continue  # someone recorded it meanwhile: treat as an update
            changes = domain.sales_call_changes(current, incoming)
            if version <= current.get("conversation_version", 0) or not changes:
                # Nothing new (a redelivery or an older snapshot). Make sure the event of
                # the current state left, in case we crashed between the write and staging.
                await self.publisher.ensure_sales_call_event(SalesCall.model_validate(current))
                return
            updated = await self.store.update_sales_call(
                call_sid,
                current["revision"],
                {**changes, "conversation_version": version, "updated_at": stamp()},
            )
            if updated is not None:
                SALES_CALLS_TOTAL.labels("updated").inc()
                await self.publisher.emit_sales_call(SalesCall.model_validate(updated))
                return
        raise domain.ConcurrentUpdate(f"sales call {call_sid} changed concurrently")
