"""The delivery use case: send a reply once, record the provider's answer, tell its owner.

Guarantees:
- **At most one send per message id and part.** A delivery is claimed in `deliveries`
  (insert on `_id` = our message id, or a compare-and-set take-over of an expired lease)
  before any call; each accepted part's provider id is stored before the next part and
  before the AMQP ack. A redelivery finds the record and only re-publishes the outcome.
  (The one unavoidable gap: the provider accepted, and the process died before the single
  write that records it. Meta's APIs take no idempotency key, so that send may repeat.)
- **Retryable failures** (429, 5xx, timeouts, throttling codes, a broken token) are retried
  in-process a few times with exponential backoff and full jitter, honouring Retry-After;
  after that, or when the wait would block the consumer too long, the delivery is *parked*
  (`retrying`, `next_attempt_at`) and the message acked: the sweeper resumes it, on any
  replica, until `delivery_give_up_hours`.
- **Permanent refusals** (invalid recipient, window closed without template, blocked, ...)
  end `failed` with the provider's reason.
- **The outcome** goes to whoever owns the message: a `DeliveryStatus` on
  `inbound.<channel>.status` for a chat reply (routing), a `ConsultationReplyStatus` for a
  consultation answer (tickets). Its event id is `delivery:<message id>:<state>`, so a
  re-publication is a duplicate the consumer ignores.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.ingest import metrics
from services.ingest.delivery_store import DeliveryStore
from services.ingest.outbound.channels import Sender
from services.ingest.outbound.outcome import (
    Accepted,
    Refused,
    Retryable,
    backoff_seconds,
    provider_wait,
)
from services.ingest.outbound.pacing import Limit, Paced, Pacer
from shared.bus import Bus
from shared.config import Settings
from shared.contracts.base import Event, utcnow
from shared.contracts.conversation import OutboundMessage
from shared.contracts.delivery import ConsultationEmail, ConsultationReplyStatus
from shared.contracts.inbound import DeliveryStatus
from shared.logging import bind_context, get_logger
from shared.mongo import Document

log = get_logger("ingest.delivery")

# How long a sweeper run sleeps for one reply's slot before parking it again instead.
SWEEPER_MAX_WAIT_SECONDS = 1.0


class KeyedLocks:
    """One FIFO asyncio lock per recipient, dropped when unused. The broker hands over up to
    PREFETCH_COUNT replies at once, each in its own task; one customer's replies must still
    leave one after the other, in the order routing published them."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


def recipient_of(message: Event) -> str:
    """Whom a reply goes to, as one key: "whatsapp:+54911…", "email:ana@example.com"."""
    if isinstance(message, ConsultationEmail):
        return f"email:{message.to_email.lower()}"
    assert isinstance(message, OutboundMessage)
    return message.identity.key


def decode(kind: str, body: Mapping[str, Any]) -> Event:
    if kind == "email":
        return ConsultationEmail.model_validate(body)
    return OutboundMessage.model_validate(body)


def outcome_event(message: Event, record: Document) -> Event:
    """The event that tells the message's owner what became of it."""
    state = record["state"]
    external_id = (record.get("external_ids") or [None])[0]
    reason = record.get("detail") if state == "failed" else None
    code = record.get("error_code") or record.get("reason") if state == "failed" else None
    event_id = f"delivery:{message.event_id}:{state}"
    assert isinstance(message, ConsultationEmail | OutboundMessage)
    consultation_id = message.consultation_id
    if consultation_id:  # a consultation's answer: tickets hears how it went
        return ConsultationReplyStatus(
            event_id=event_id,
            consultation_id=consultation_id,
            message_id=message.event_id,
            medium="email" if isinstance(message, ConsultationEmail) else "whatsapp",
            status=state,
            external_message_id=external_id,
            reason=reason,
            error_code=code,
        )
    assert isinstance(message, OutboundMessage)  # a reply to a conversation
    # Shaped like Meta's webhook errors ({code, title, message}): routing already shows
    # `title` to staff for failed receipts; `reason` is our short label (metrics).
    errors = (
        [{"code": code, "title": reason, "message": reason, "reason": record.get("reason")}]
        if reason
        else []
    )
    return DeliveryStatus(
        event_id=event_id,
        channel=message.channel,
        identity=message.identity,
        external_message_id=external_id,
        status=state,
        message_id=message.event_id,
        reason=reason,
        error_code=code,
        errors=errors,
    )


class Delivery:
    def __init__(
        self, settings: Settings, bus: Bus, store: DeliveryStore, senders: Mapping[str, Sender]
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.store = store
        self.senders = dict(senders)  # channel -> sender, only the channels that may send
        self.pacer = Pacer(self._reserve)
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.per_recipient = KeyedLocks()

    # --- entry points -----------------------------------------------------------------

    async def deliver(self, kind: str, message: Event) -> None:
        """A message from `connector.<channel>`: claim, send, record, publish the outcome.
        Raises only when the database is unreachable (the redelivery retries); an outcome
        the broker does not take is left for the sweeper."""
        channel = "email" if kind == "email" else message.channel  # type: ignore[attr-defined]
        recipient = recipient_of(message)
        # Taken before any other await: the tasks reach it in delivery order.
        async with self.per_recipient.hold(recipient):
            await self._deliver(kind, channel, recipient, message)

    async def _deliver(self, kind: str, channel: str, recipient: str, message: Event) -> None:
        with bind_context(event_id=message.event_id):
            claim, record = await self.store.claim(
                message.event_id,
                kind,
                channel,
                recipient,
                message.model_dump(mode="json"),
                utcnow(),
                self.lease,
            )
            if claim == "done":
                metrics.OUTBOUND_DUPLICATES.labels(channel).inc()
                if not record.get("result_published"):
                    await self._publish_outcome(message, record)
                return
            if claim == "busy":
                metrics.OUTBOUND_DUPLICATES.labels(channel).inc()
                return
            earlier = await self.store.parked_before(recipient, record["created_at"])
            if earlier is not None:
                # Queue behind the earlier reply: the sweeper sends both, oldest first.
                await self.store.park(
                    message.event_id,
                    "behind_earlier_reply",
                    "an earlier reply to this customer is waiting for a retry",
                    earlier["next_attempt_at"],
                    utcnow(),
                )
                return
            await self._run(
                message,
                record,
                self.settings.delivery_retry_attempts,
                self.settings.delivery_retry_inline_max_seconds,
            )

    async def sweep_once(self) -> int:
        """Resume parked and abandoned deliveries, re-publish unpublished outcomes, give up
        on what is too old. Safe on every replica at once (compare-and-set take-overs)."""
        now = utcnow()
        handled = 0
        for doc in await self.store.due(now, list(self.senders)):
            message = decode(doc["kind"], doc["message"])
            with bind_context(event_id=doc["_id"]):
                async with self.per_recipient.hold(recipient_of(message)):
                    handled += await self._resume(message, doc, now)
        return handled

    async def _resume(self, message: Event, doc: Document, now: datetime) -> int:
        if doc["state"] in ("sent", "failed"):
            await self._publish_outcome(message, doc)
            return 1
        if doc["state"] == "retrying":
            earlier = await self.store.parked_before(recipient_of(message), doc["created_at"])
            if earlier is not None:  # still behind an earlier reply to the same customer
                await self.store.park(
                    doc["_id"],
                    doc.get("reason") or "behind_earlier_reply",
                    doc.get("detail") or "",
                    earlier["next_attempt_at"],
                    now,
                )
                return 0
        taken = await self.store.take_over(doc, now, self.lease)
        if taken is None:
            return 0
        give_up = timedelta(hours=self.settings.delivery_give_up_hours)
        if doc["created_at"] < now - give_up:
            await self._fail(
                message,
                doc["channel"],
                Refused("expired", f"not delivered in {give_up}: {doc.get('detail')}"),
            )
            return 1
        # The sweeper resumes one delivery after the other: it sleeps little for a pace.
        await self._run(message, taken, attempts=1, max_wait=SWEEPER_MAX_WAIT_SECONDS)
        return 1

    async def refresh_pending(self) -> None:
        counts = await self.store.pending_by_channel()
        for channel in ("whatsapp", "messenger", "email"):
            metrics.OUTBOUND_PENDING.labels(channel).set(counts.get(channel, 0))

    # --- sending ----------------------------------------------------------------------

    async def _run(self, message: Event, record: Document, attempts: int, max_wait: float) -> None:
        channel = record["channel"]
        sender = self.senders[channel]
        plan = sender.plan(message, utcnow())
        if isinstance(plan, Refused):
            await self._fail(message, channel, plan)
            return
        parts = plan
        fallback_used = False
        done = len(record.get("parts") or [])
        attempt = 0
        while True:
            outcome = await self._send_parts(sender, message.event_id, parts, done, max_wait)
            if isinstance(outcome, Paced):
                await self._park_paced(message.event_id, channel, outcome)
                return
            if isinstance(outcome, Accepted):
                await self._succeed(message, channel)
                return
            if isinstance(outcome, Refused):
                retry_parts = None if fallback_used or done else sender.fallback(message, outcome)
                if retry_parts:
                    log.info("delivery_fallback", channel=channel, reason=outcome.reason)
                    parts, fallback_used = retry_parts, True
                    continue
                await self._fail(message, channel, outcome)
                return
            done = len((await self.store.get(message.event_id) or {}).get("parts") or [])
            metrics.OUTBOUND_RETRIES.labels(channel, outcome.reason).inc()
            await self.store.attempted(message.event_id, utcnow(), self.lease)
            attempt += 1
            wait = backoff_seconds(
                attempt - 1,
                self.settings.delivery_retry_base_seconds,
                self.settings.delivery_retry_max_seconds,
                provider_wait(outcome, attempt - 1),
            )
            if attempt >= attempts or wait > self.settings.delivery_retry_inline_max_seconds:
                await self._park(message.event_id, record, outcome, wait)
                return
            log.info("delivery_retry", channel=channel, reason=outcome.reason, wait=wait)
            await asyncio.sleep(wait)

    async def _send_parts(
        self, sender: Sender, message_id: str, parts: list[Any], done: int, max_wait: float
    ) -> Accepted | Refused | Retryable | Paced:
        """Send the parts not yet accepted, recording each provider id before the next.
        Each part waits for its slot on every limit it is paced on (a recipient's pair
        rate, the sender's throughput); a slot further than `max_wait` parks the rest."""
        last: Accepted | None = None
        for part in parts[done:]:
            for limit in sender.limits(part):
                slot = await self.pacer.take(limit, max_wait)
                if not slot.reserved:
                    return Paced(limit, slot.wait)
                if slot.wait > 0:
                    metrics.OUTBOUND_PACED.labels(sender.channel, limit.kind, "waited").inc()
            started = time.perf_counter()
            outcome = await sender.send(part)
            metrics.OUTBOUND_SEND_SECONDS.labels(sender.channel).observe(
                time.perf_counter() - started
            )
            if not isinstance(outcome, Accepted):
                return outcome
            await self.store.part_sent(message_id, outcome.external_id, utcnow())
            last = outcome
        return last or Accepted("")

    async def _reserve(self, limit: Limit, now: float, max_wait: float) -> tuple[float, bool]:
        return await self.store.reserve_slot(
            limit.key, now, limit.interval, limit.tolerance, max_wait
        )

    async def _park_paced(self, message_id: str, channel: str, paced: Paced) -> None:
        """Not a failure: the reply waits (parked, in order before any later reply to the
        same customer) until its limit frees up; the sweeper sends it then."""
        metrics.OUTBOUND_PACED.labels(channel, paced.limit.kind, "parked").inc()
        await self.store.park(
            message_id,
            f"paced_{paced.limit.kind}",
            f"paced: {paced.limit.kind} limit, next slot in {paced.wait:.1f} s",
            utcnow() + timedelta(seconds=paced.wait),
            utcnow(),
        )
        log.info("delivery_paced", limit=paced.limit.kind, wait=round(paced.wait, 3))

    async def _park(
        self, message_id: str, record: Document, outcome: Retryable, wait: float
    ) -> None:
        total = int(record.get("attempts") or 0) + 1
        later = backoff_seconds(
            total,
            self.settings.delivery_retry_base_seconds,
            self.settings.delivery_retry_max_seconds,
            provider_wait(outcome, total),
        )
        delay = max(wait, later)
        await self.store.park(
            message_id,
            outcome.reason,
            outcome.detail,
            utcnow() + timedelta(seconds=delay),
            utcnow(),
        )
        log.warning("delivery_parked", reason=outcome.reason, retry_in=round(delay, 3))

    async def _succeed(self, message: Event, channel: str) -> None:
        record = await self.store.sent(message.event_id, utcnow())
        metrics.OUTBOUND_SENT.labels(channel).inc()
        log.info("delivery_sent", channel=channel)
        if record is not None:
            await self._publish_outcome(message, record)

    async def _fail(self, message: Event, channel: str, refused: Refused) -> None:
        record = await self.store.failed(
            message.event_id, refused.reason, refused.detail, refused.code, utcnow()
        )
        metrics.OUTBOUND_FAILED.labels(channel, refused.reason).inc()
        log.warning("delivery_failed", channel=channel, reason=refused.reason, code=refused.code)
        if record is not None:
            await self._publish_outcome(message, record)

    async def _publish_outcome(self, message: Event, record: Document) -> None:
        """Publish the outcome; if the broker refuses, the record keeps
        `result_published: False` and the sweeper publishes it later. The send itself is
        recorded already, so the AMQP message is acked either way."""
        try:
            await self.bus.publish(outcome_event(message, record))
        except Exception as exc:
            metrics.OUTBOUND_OUTCOME_DEFERRED.inc()
            log.warning("delivery_outcome_deferred", error=str(exc))
            return
        await self.store.result_published(message.event_id)
