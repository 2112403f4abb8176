"""Consultations from the portal: created, answered (and the answer sent), closed, or
converted into a technical service; and the channel gateway's reports on what it sent.
"""

from __future__ import annotations

from collections.abc import Callable

from services.tickets import domain
from services.tickets.listing import ListQuery, Page
from services.tickets.metrics import CONSULTATIONS_TOTAL
from services.tickets.services import TechnicalServices
from services.tickets.store import TicketsStore
from services.tickets.writes import Publisher, stamp, transition, visible_consultation
from shared.config import Settings
from shared.contracts.base import new_id
from shared.contracts.delivery import ConsultationReplyStatus
from shared.contracts.ticket import ConsultationSnapshot, ServiceSnapshot
from shared.mongo import Document
from shared.secrets import SecretBox


class _AlreadyReported(Exception):
    """A concurrent delivery of the same report won the compare-and-set: nothing to do."""


class Consultations:
    def __init__(
        self,
        store: TicketsStore,
        publisher: Publisher,
        services: TechnicalServices,
        settings: Settings,
        box: SecretBox,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.services = services
        self.settings = settings
        self.box = box

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
