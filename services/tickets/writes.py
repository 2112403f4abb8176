"""How tickets writes: the timestamp it stores, the compare-and-set loop, and the events a
write owes (staged in the outbox after the write and flushed at once, so a broker outage
delays them and never loses them; `republish_unstaged` covers a crash in between).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from services.tickets import domain
from services.tickets.store import TicketsStore
from shared.contracts.base import Event, Identity, utcnow
from shared.contracts.conversation import OutboundMessage
from shared.contracts.delivery import ConsultationEmail
from shared.contracts.ticket import (
    ConsultationAction,
    ConsultationEvent,
    ConsultationSnapshot,
    SalesCall,
    ServiceSnapshot,
    TicketAction,
    TicketEvent,
)
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import Outbox
from shared.secrets import mask_secrets

log = get_logger("tickets")

CAS_ATTEMPTS = 5


def stamp() -> datetime:
    """UTC now at MongoDB's precision (milliseconds), so what we answer is what we stored."""
    moment = utcnow()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def visible_consultation(doc: Document) -> ConsultationSnapshot:
    """A consultation as staff and events see it: what the customer typed, with credentials
    masked. New documents are stored masked already; this also covers documents written
    before sealing existed (masking is idempotent)."""
    snapshot = ConsultationSnapshot.model_validate(doc)
    return snapshot.model_copy(
        update={
            "subject": mask_secrets(snapshot.subject) or "",
            "text": mask_secrets(snapshot.text) or "",
        }
    )


def sales_call_event_id(call_sid: str, revision: int) -> str:
    """Deterministic: a redelivered conversation event re-derives the same id."""
    return f"sales_call:{call_sid}" if revision == 1 else f"sales_call:{call_sid}:{revision}"


async def transition(
    load: Callable[[], Awaitable[Document | None]],
    update: Callable[[Document, Document], Awaitable[Document | None]],
    decide: Callable[[Document], Document],
    missing: str,
) -> Document:
    """Load, let the domain decide the changes, compare-and-set; on a lost race reload
    and decide again (the domain may now refuse, e.g. a concurrent cancel won)."""
    for _ in range(CAS_ATTEMPTS):
        current = await load()
        if current is None:
            raise domain.NotFound(missing)
        changes = decide(current)
        updated = await update(current, changes)
        if updated is not None:
            return updated
    raise domain.ConcurrentUpdate("changed concurrently by someone else; try again")


class Publisher:
    """Everything tickets puts on the bus goes through here."""

    def __init__(self, store: TicketsStore, outbox: Outbox) -> None:
        self.store = store
        self.outbox = outbox

    async def emit(self, *events: Event) -> None:
        staged = await self.outbox.stage(list(events))
        await self.outbox.flush(staged)

    async def publish_service(
        self, snapshot: ServiceSnapshot, action: TicketAction, actor: str
    ) -> None:
        """Stage and publish the event of this version (its id derives from the version, so
        a republication after a crash is the same event), then clear the document's flag."""
        await self.emit(
            TicketEvent(
                event_id=f"ticket.{action}:{snapshot.service_id}:v{snapshot.version}",
                action=action,
                service=snapshot,
                actor=actor,
            )
        )
        await self.store.mark_published(self.store.services, snapshot.service_id, snapshot.version)

    async def publish_consultation(
        self, snapshot: ConsultationSnapshot, action: ConsultationAction, actor: str
    ) -> None:
        """The consultation's event, and the answer to send while one is pending: staged
        together, so a crash before staging is repaired by `republish_unstaged` for both."""
        await self.emit(
            ConsultationEvent(
                event_id=f"consultation.{action}:{snapshot.consultation_id}:v{snapshot.version}",
                action=action,
                consultation=snapshot,
                actor=actor,
            ),
            *self.answer_to_send(snapshot),
        )
        await self.store.mark_published(
            self.store.consultations, snapshot.consultation_id, snapshot.version
        )

    def answer_to_send(self, snapshot: ConsultationSnapshot) -> list[Event]:
        """The outbound message of a pending answer (its id is the answer's message id, so
        staging it again changes nothing and the connector sends it once)."""
        messages = self._number_to_send(snapshot)
        if snapshot.answer_delivery != "pending" or not snapshot.answer_message_id:
            return messages
        return (
            self._message_to_customer(
                snapshot,
                snapshot.answer_message_id,
                snapshot.answer_channel,
                f"Re: {snapshot.subject}",
                snapshot.answer_text or "",
                snapshot.answered_by or "staff",
            )
            + messages
        )

    def _number_to_send(self, snapshot: ConsultationSnapshot) -> list[Event]:
        """The service's number for the customer of a converted consultation, while pending."""
        if snapshot.number_delivery != "pending" or not snapshot.number_message_id:
            return []
        number = snapshot.service_number or ""
        return self._message_to_customer(
            snapshot,
            snapshot.number_message_id,
            snapshot.number_channel,
            f"Servicio técnico {number}",
            domain.service_number_text(number),
            "system",
        )

    def _message_to_customer(
        self,
        snapshot: ConsultationSnapshot,
        message_id: str,
        channel: str | None,
        subject: str,
        text: str,
        author: str,
    ) -> list[Event]:
        if channel == "email" and snapshot.email:
            return [
                ConsultationEmail(
                    event_id=message_id,
                    consultation_id=snapshot.consultation_id,
                    to_email=snapshot.email,
                    to_name=snapshot.name,
                    subject=subject,
                    text=text,
                    author=author,
                )
            ]
        if channel == "whatsapp" and snapshot.phone:
            return [
                OutboundMessage(
                    event_id=message_id,
                    consultation_id=snapshot.consultation_id,
                    channel="whatsapp",
                    identity=Identity(
                        channel="whatsapp", external_id=domain.whatsapp_identity(snapshot.phone)
                    ),
                    author=author,
                    text=text,
                )
            ]
        return []

    async def republish_unstaged(self, older_than: timedelta = timedelta(seconds=5)) -> int:
        """Publish the latest state of services and consultations whose change was written
        but whose event never got staged (the process died in between). Returns how many."""
        cutoff = utcnow() - older_than
        count = 0
        for doc in await self.store.unpublished(self.store.services, cutoff):
            service = ServiceSnapshot.model_validate(doc)
            action = domain.SERVICE_EVENT_FOR_STATUS[service.status]
            await self.publish_service(service, action, "system")  # type: ignore[arg-type]
            count += 1
        for doc in await self.store.unpublished(self.store.consultations, cutoff):
            consultation = visible_consultation(doc)
            action = domain.CONSULTATION_EVENT_FOR_STATUS[consultation.status]
            await self.publish_consultation(consultation, action, "system")  # type: ignore[arg-type]
            count += 1
        if count:
            log.warning("republished_unstaged_events", count=count)
        return count

    async def emit_sales_call(self, sales_call: SalesCall) -> None:
        await self.emit(
            TicketEvent(
                event_id=sales_call_event_id(sales_call.call_sid, sales_call.revision),
                action="sales_call",
                sales_call=sales_call,
                actor="system",
            )
        )

    async def ensure_sales_call_event(self, sales_call: SalesCall) -> None:
        event_id = sales_call_event_id(sales_call.call_sid, sales_call.revision)
        if await self.outbox.collection.find_one({"_id": event_id}) is None:
            await self.emit_sales_call(sales_call)
