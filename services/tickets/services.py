"""Technical services: created (from a conversation, a call or a consultation), confirmed,
cancelled, and read. One open service per conversation (a claim on the conversation), and
an Idempotency-Key makes a retried creation return the first one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from services.tickets import domain
from services.tickets.listing import ListQuery, Page
from services.tickets.metrics import TICKETS_TOTAL
from services.tickets.store import TicketsStore
from services.tickets.writes import CAS_ATTEMPTS, Publisher, stamp, transition
from shared.config import Settings
from shared.contracts.base import new_id
from shared.contracts.ticket import ServiceSnapshot
from shared.logging import bind_context, get_logger
from shared.mongo import Document

log = get_logger("tickets")

# A claim or an idempotency key whose service never appeared after this long belongs to a
# request that died half-way: it may be taken over.
ABANDONED_AFTER = timedelta(seconds=30)
# How long a retry with the same Idempotency-Key waits for the first request to finish.
IDEMPOTENT_WAIT_SECONDS = 5.0


class TechnicalServices:
    def __init__(self, store: TicketsStore, publisher: Publisher, settings: Settings) -> None:
        self.store = store
        self.publisher = publisher
        self.settings = settings

    async def create_service(
        self,
        actor: str,
        reason: str,
        conversation_id: str | None = None,
        call_sid: str | None = None,
        description: str | None = None,
        customer_id: str | None = None,
        customer_name: str | None = None,
        document_number: str | None = None,
        consultation_id: str | None = None,
        service_id: str | None = None,
        allow_another_open: bool = False,
    ) -> ServiceSnapshot:
        """Create a pending service with the next number. Customer data not given defaults
        to what the conversation projection knows; an unknown conversation or call with no
        customer data at all is refused (404), since nobody could follow that service.

        One open (pending or confirmed) service per conversation: a second one is refused
        (409, naming the open one) unless `allow_another_open`. The conversation is claimed
        before the number is allocated, so of concurrent requests exactly one creates (and
        the customer is told once)."""
        conversation: Document | None = None
        if conversation_id:
            conversation = await self.store.get_conversation(conversation_id)
        elif call_sid:
            conversation = await self.store.get_conversation_by_call(call_sid)
        given_customer = any((customer_id, customer_name, document_number))
        if (conversation_id or call_sid) and conversation is None and not given_customer:
            what = f"conversation {conversation_id}" if conversation_id else f"call {call_sid}"
            raise domain.NotFound(
                f"{what} is unknown to tickets; give the customer data to create the service"
            )
        channel: str | None = None
        if conversation is not None:
            conversation_id = conversation["_id"]
            channel = conversation.get("channel")
            customer_id = customer_id or conversation.get("customer_id")
            customer_name = customer_name or conversation.get("customer_name")
            document_number = document_number or conversation.get("document_number")
            call = conversation.get("call") or {}
            call_sid = call_sid or call.get("call_sid")
        elif call_sid:
            channel = "ivr"
        service_id = service_id or new_id()
        origin = domain.service_origin_key(conversation_id, call_sid)
        claimed = origin is not None and not allow_another_open
        if claimed:
            await self._claim_origin(origin, service_id)  # type: ignore[arg-type]
        try:
            return await self._insert_service(
                actor, reason, service_id, conversation_id, call_sid, channel, description,
                customer_id, customer_name, document_number, consultation_id,
            )  # fmt: skip
        except BaseException:
            # Given back only if the service was not written: a written one holds it.
            if claimed and await self.store.get_service(service_id) is None:
                await self.store.release_origin(origin, service_id)  # type: ignore[arg-type]
            raise

    async def _claim_origin(self, origin: str, service_id: str) -> None:
        """Hold the conversation for `service_id`, or ServiceAlreadyOpen."""
        for _ in range(CAS_ATTEMPTS):
            now = stamp()
            if await self.store.claim_origin(origin, service_id, now):
                return
            claim = await self.store.origin_claim(origin)
            if claim is None:
                continue  # released meanwhile
            holder = await self.store.get_service(claim["service_id"])
            fresh = now - claim["at"].replace(tzinfo=now.tzinfo) < ABANDONED_AFTER
            if holder is None and fresh:
                # Another request is creating it right now: answer with its number.
                created = await self._wait_for_service(claim["service_id"])
                holder = created.model_dump() if created is not None else None
                if holder is None:
                    raise domain.ServiceAlreadyOpen(
                        "a service for this conversation is being created right now"
                    )
            if holder is not None and domain.is_open_service(holder["status"]):
                raise domain.ServiceAlreadyOpen(
                    f"this conversation already has the open service {holder['number']} "
                    f"({holder['status']}); send allow_another_open=true to create another"
                )
            if await self.store.take_over_origin(origin, claim["service_id"], service_id, now):
                return
        raise domain.ConcurrentUpdate("the conversation's services changed concurrently")

    async def create_service_once(
        self, actor: str, idempotency_key: str | None, **request: Any
    ) -> tuple[ServiceSnapshot, bool]:
        """`create_service`, where a retry with the same Idempotency-Key (per user) returns
        the service the first request created instead of creating another. The bool says
        whether this call created it. The same key with a different request is refused."""
        if not idempotency_key:
            return await self.create_service(actor=actor, **request), True
        key = f"{actor}:{idempotency_key}"
        canonical = json.dumps(request, sort_keys=True, default=str, ensure_ascii=True)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        service_id = new_id()
        for _ in range(CAS_ATTEMPTS):
            first = await self.store.reserve_idempotency_key(key, fingerprint, service_id, stamp())
            if first is None:
                break
            if first["fingerprint"] != fingerprint:
                raise domain.IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a different request"
                )
            existing = await self._wait_for_service(first["service_id"])
            if existing is not None:
                return existing, False
            if stamp() - first["at"].replace(tzinfo=UTC) < ABANDONED_AFTER:
                raise domain.ConcurrentUpdate(
                    "the first request with this Idempotency-Key is still being processed"
                )
            await self.store.release_idempotency_key(key, first["service_id"])
        else:
            raise domain.ConcurrentUpdate("this Idempotency-Key is in use concurrently")
        try:
            return await self.create_service(actor=actor, service_id=service_id, **request), True
        except BaseException:
            if await self.store.get_service(service_id) is None:
                await self.store.release_idempotency_key(key, service_id)
            raise

    async def _wait_for_service(self, service_id: str) -> ServiceSnapshot | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + IDEMPOTENT_WAIT_SECONDS
        while True:
            doc = await self.store.get_service(service_id)
            if doc is not None:
                return ServiceSnapshot.model_validate(doc)
            if loop.time() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def _insert_service(
        self,
        actor: str,
        reason: str,
        service_id: str,
        conversation_id: str | None,
        call_sid: str | None,
        channel: str | None,
        description: str | None,
        customer_id: str | None,
        customer_name: str | None,
        document_number: str | None,
        consultation_id: str | None,
    ) -> ServiceSnapshot:
        # Allocated right before the insert, which cannot fail on a fresh id: no gaps.
        seq = await self.store.next_seq()
        now = stamp()
        snapshot = ServiceSnapshot(
            service_id=service_id,
            number=domain.service_number(seq),
            status="pendiente",
            customer_id=customer_id,
            customer_name=customer_name,
            document_number=document_number,
            conversation_id=conversation_id,
            call_sid=call_sid,
            channel=channel,
            reason=reason,
            description=description,
            created_by=actor,
            created_at=now,
            updated_at=now,
            version=1,
            consultation_id=consultation_id,
        )
        doc = {
            "_id": snapshot.service_id,
            "seq": seq,
            "search_keys": domain.search_keys(customer_name, document_number),
            **snapshot.model_dump(),
        }
        await self.store.insert_service(doc)
        TICKETS_TOTAL.labels("pendiente").inc()
        with bind_context(conversation_id=conversation_id, service_number=snapshot.number):
            log.info("service_created", actor=actor)
        await self.publisher.publish_service(snapshot, "created", actor)
        return snapshot

    async def _service_transition(
        self, service_id: str, decide: Callable[[Document], Document]
    ) -> ServiceSnapshot:
        doc = await transition(
            lambda: self.store.get_service(service_id),
            lambda cur, ch: self.store.update_service(service_id, cur["version"], ch),
            decide,
            f"service {service_id} not found",
        )
        return ServiceSnapshot.model_validate(doc)

    async def confirm_service(self, service_id: str, actor: str) -> ServiceSnapshot:
        def decide(current: Document) -> Document:
            now = stamp()
            return {
                "status": domain.confirm_service(current["status"]),
                "confirmed_by": actor,
                "confirmed_at": now,
                "updated_at": now,
            }

        snapshot = await self._service_transition(service_id, decide)
        TICKETS_TOTAL.labels("confirmado").inc()
        await self.publisher.publish_service(snapshot, "confirmed", actor)
        return snapshot

    async def cancel_service(self, service_id: str, actor: str, reason: str) -> ServiceSnapshot:
        def decide(current: Document) -> Document:
            now = stamp()
            return {
                "status": domain.cancel_service(current["status"], reason),
                "cancelled_by": actor,
                "cancelled_at": now,
                "cancel_reason": reason.strip(),
                "updated_at": now,
            }

        snapshot = await self._service_transition(service_id, decide)
        TICKETS_TOTAL.labels("cancelado").inc()
        await self.publisher.publish_service(snapshot, "cancelled", actor)
        return snapshot

    async def get_service(self, service_id: str) -> ServiceSnapshot:
        doc = await self.store.get_service(service_id)
        if doc is None:
            raise domain.NotFound(f"service {service_id} not found")
        return ServiceSnapshot.model_validate(doc)

    async def get_service_by_number(self, number: str) -> ServiceSnapshot:
        doc = await self.store.get_service_by_number(number.strip().upper())
        if doc is None:
            raise domain.NotFound(f"service {number} not found")
        return ServiceSnapshot.model_validate(doc)

    async def list_services(self, query: ListQuery) -> Page:
        status = domain.status_filter(query.estado, domain.SERVICE_STATUSES, domain.PENDIENTE)
        when = domain.period(query.desde, query.hasta, self.settings.tz)
        items, total = await self.store.list_services(
            status,
            domain.query_terms(query.q),
            when,
            query.page,
            query.page_size,
            conversation_id=query.conversation_id,
        )
        return Page(items, total, query.page, query.page_size)
