"""Use cases of the tickets service: load, ask the domain, compare-and-set, then publish
(`writes.py`: the loop and the `Publisher`; `listing.py`: list queries and pages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.tickets import domain
from services.tickets.listing import ListQuery, Page
from services.tickets.metrics import CONSULTATIONS_TOTAL, SALES_CALLS_TOTAL
from services.tickets.services import TechnicalServices
from services.tickets.store import TicketsStore
from services.tickets.writes import (
    CAS_ATTEMPTS,
    Publisher,
    sales_call_event_id,
    stamp,
    transition,
    visible_consultation,
)
from shared.config import Settings
from shared.contracts.base import new_id
from shared.contracts.conversation import ConversationEvent
from shared.contracts.customer import CustomerEvent
from shared.contracts.delivery import ConsultationReplyStatus
from shared.contracts.ticket import (
    ConsultationSnapshot,
    SalesCall,
    ServiceSnapshot,
)
from shared.logging import bind_context, get_logger
from shared.mongo import Document
from shared.outbox import Outbox
from shared.secrets import SecretBox

log = get_logger("tickets")

__all__ = ["ListQuery", "Page", "Tickets", "sales_call_event_id", "stamp", "visible_consultation"]


class _AlreadyReported(Exception):
    """A concurrent delivery of the same report won the compare-and-set: nothing to do."""


class Tickets:
    def __init__(self, store: TicketsStore, outbox: Outbox, settings: Settings) -> None:
        self.store = store
        self.outbox = outbox
        self.settings = settings
        self.box = SecretBox(settings.secrets_key)
        self.publisher = Publisher(store, outbox)
        self.republish_unstaged = self.publisher.republish_unstaged
        self.services = TechnicalServices(store, self.publisher, settings)
        self.create_service = self.services.create_service
        self.create_service_once = self.services.create_service_once
        self.confirm_service = self.services.confirm_service
        self.cancel_service = self.services.cancel_service
        self.get_service = self.services.get_service
        self.get_service_by_number = self.services.get_service_by_number
        self.list_services = self.services.list_services

    async def on_reply_status(self, report: ConsultationReplyStatus) -> bool:
        """The connector sent (or could not send) an answer: the consultation shows it.
        Idempotent: a report already applied, or about a superseded answer, changes nothing."""
        current = await self.store.get_consultation(report.consultation_id)
        if current is not None and current.get("number_message_id") == report.message_id:
            return await self._on_number_status(report)
        if current is None or not domain.reply_status_applies(
            current.get("answer_message_id"),
            current.get("answer_delivery"),
            report.message_id,
            report.status,
        ):
            return False

        def decide(doc: Document) -> Document:
            if not domain.reply_status_applies(
                doc.get("answer_message_id"),
                doc.get("answer_delivery"),
                report.message_id,
                report.status,
            ):
                raise _AlreadyReported
            return {
                "answer_delivery": report.status,
                "answer_delivery_error": report.reason if report.status == "failed" else None,
                "answer_external_id": report.external_message_id,
                "updated_at": stamp(),
            }

        try:
            snapshot = await self._consultation_transition(report.consultation_id, decide)
        except _AlreadyReported:
            return False
        CONSULTATIONS_TOTAL.labels(f"answer_{report.status}").inc()
        await self.publisher.publish_consultation(snapshot, "answered", "system")
        return True

    async def _on_number_status(self, report: ConsultationReplyStatus) -> bool:
        """The connector reported on the service number sent to the customer."""

        def decide(doc: Document) -> Document:
            if doc.get("number_delivery") == report.status:
                raise _AlreadyReported
            return {"number_delivery": report.status, "updated_at": stamp()}

        try:
            snapshot = await self._consultation_transition(report.consultation_id, decide)
        except _AlreadyReported:
            return False
        CONSULTATIONS_TOTAL.labels(f"number_{report.status}").inc()
        await self.publisher.publish_consultation(snapshot, "converted", "system")
        return True

    # --- consultations -----------------------------------------------------------------------

    async def create_consultation(
        self,
        name: str,
        document_number: str | None,
        email: str | None,
        phone: str | None,
        subject: str,
        text: str,
    ) -> ConsultationSnapshot:
        """Store the portal's form and announce it. A credential the customer typed in the
        subject or text is stored masked, its original only sealed (`sealed_subject`,
        `sealed_text` in the document, never in an event or an API answer)."""
        if not (email or phone):
            raise domain.ContactMissing("give an email address or a phone number")
        subject, sealed_subject = self.box.mask(subject)
        text, sealed_text = self.box.mask(text)
        now = stamp()
        snapshot = ConsultationSnapshot(
            consultation_id=new_id(),
            status="abierta",
            name=name,
            document_number=document_number,
            email=email,
            phone=phone,
            subject=subject,
            text=text,
            created_at=now,
            updated_at=now,
            version=1,
        )
        doc = {
            "_id": snapshot.consultation_id,
            "search_keys": domain.search_keys(name, document_number),
            **snapshot.model_dump(),
        }
        sealed = {"sealed_subject": sealed_subject, "sealed_text": sealed_text}
        doc.update({k: v for k, v in sealed.items() if v is not None})
        await self.store.insert_consultation(doc)
        CONSULTATIONS_TOTAL.labels("created").inc()
        await self.publisher.publish_consultation(snapshot, "created", "customer")
        return snapshot

    async def _consultation_transition(
        self, consultation_id: str, decide: Callable[[Document], Document]
    ) -> ConsultationSnapshot:
        doc = await transition(
            lambda: self.store.get_consultation(consultation_id),
            lambda cur, ch: self.store.update_consultation(consultation_id, cur["version"], ch),
            decide,
            f"consultation {consultation_id} not found",
        )
        return visible_consultation(doc)

    async def answer_consultation(
        self, consultation_id: str, actor: str, text: str, channel: str
    ) -> ConsultationSnapshot:
        """Record the answer; by email or WhatsApp it is also sent (through the channel
        gateway), and the consultation shows `answer_delivery` pending → sent | failed."""
        message_id = new_id()

        def decide(current: Document) -> Document:
            now = stamp()
            status = domain.answer_consultation(
                current["status"], channel, current.get("email"), current.get("phone")
            )
            return {
                "status": status,
                "answered_by": actor,
                "answer_channel": channel,
                "answer_text": text,
                "answered_at": now,
                "updated_at": now,
                "answer_message_id": message_id,
                "answer_delivery": domain.answer_delivery_for(channel),
                "answer_delivery_error": None,
                "answer_external_id": None,
            }

        snapshot = await self._consultation_transition(consultation_id, decide)
        CONSULTATIONS_TOTAL.labels("answered").inc()
        await self.publisher.publish_consultation(snapshot, "answered", actor)
        return snapshot

    async def close_consultation(self, consultation_id: str, actor: str) -> ConsultationSnapshot:
        def decide(current: Document) -> Document:
            now = stamp()
            return {
                "status": domain.close_consultation(current["status"]),
                "closed_by": actor,
                "closed_at": now,
                "updated_at": now,
            }

        snapshot = await self._consultation_transition(consultation_id, decide)
        CONSULTATIONS_TOTAL.labels("closed").inc()
        await self.publisher.publish_consultation(snapshot, "closed", actor)
        return snapshot

    async def convert_consultation(
        self, consultation_id: str, actor: str, reason: str
    ) -> tuple[ConsultationSnapshot, ServiceSnapshot]:
        """Turn a consultation into a technical service. The consultation is claimed first
        (compare-and-set), so two concurrent conversions create exactly one service."""
        service_id = new_id()

        def claim(current: Document) -> Document:
            return {
                "status": domain.convert_consultation(current["status"]),
                "service_id": service_id,
                "updated_at": stamp(),
            }

        claimed = await self._consultation_transition(consultation_id, claim)
        service = await self.services.create_service(
            actor=actor,
            reason=reason,
            description=f"{claimed.subject}\n\n{claimed.text}",
            customer_id=claimed.customer_id,
            customer_name=claimed.name,
            document_number=claimed.document_number,
            consultation_id=consultation_id,
            service_id=service_id,
        )
        # The customer is told the number through the contact they left (the message id
        # derives from the service, so a republication sends it once).
        channel = domain.number_channel(claimed.email, claimed.phone)
        told: Document = (
            {
                "number_message_id": f"{service.service_id}:number",
                "number_channel": channel,
                "number_delivery": "pending",
            }
            if channel
            else {}
        )
        snapshot = await self._consultation_transition(
            consultation_id, lambda _cur: {"service_number": service.number, **told}
        )
        CONSULTATIONS_TOTAL.labels("converted").inc()
        await self.publisher.publish_consultation(snapshot, "converted", actor)
        return snapshot, service

    async def get_consultation(self, consultation_id: str) -> ConsultationSnapshot:
        doc = await self.store.get_consultation(consultation_id)
        if doc is None:
            raise domain.NotFound(f"consultation {consultation_id} not found")
        return visible_consultation(doc)

    async def list_consultations(self, query: ListQuery) -> Page:
        status = domain.status_filter(query.estado, domain.CONSULTATION_STATUSES, domain.ABIERTA)
        when = domain.period(query.desde, query.hasta, self.settings.tz)
        items, total = await self.store.list_consultations(
            status, domain.query_terms(query.q), when, query.page, query.page_size
        )
        visible = [visible_consultation(doc).model_dump() for doc in items]
        return Page(visible, total, query.page, query.page_size)

    # --- conversations and sales calls -------------------------------------------------------

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
