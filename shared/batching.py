"""Micro-batched consumers: up to N messages or T milliseconds per batch, one commit, one ack.

The hot queues (inbound traffic and the conversation events that follow it) are consumed
here instead of one FastStream handler per message: a batch is cut from the prefetch window
as soon as it holds `max_batch` messages or its first message has waited `max_wait` seconds
(whichever comes first; a batch that waited behind the previous one goes at once), handed to
the service as a list in delivery order, and acknowledged with one `ack(multiple=True)`.

Guarantees:
- Order: batches of one consumer are handled one after the other, each in delivery order.
- At least once: nothing is acked before the handler returned (its writes are done).
- A poison message dead-letters alone: when a batch fails, its messages are retried one at
  a time; the one that still fails is nacked (requeued; the quorum queue's delivery limit
  dead-letters it) and the others commit. A body that is not JSON, or that was written with
  a contracts version this process cannot read (`schema_version`, see
  shared/contracts/base.py), is rejected at once: it is dead-lettered, never misread.
- Shutdown drains: `stop()` cancels the consumer, then handles what was already delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from shared.bus import REDELIVERED, refuse_version, unsupported_version
from shared.config import Settings
from shared.contracts.base import UnsupportedSchemaVersion
from shared.logging import bind_context, get_logger

log = get_logger("batching")

T = TypeVar("T")
R = TypeVar("R")

BATCH_SIZE = Histogram(
    "cc_consumer_batch_size",
    "Messages per handled batch, by consumer",
    ["consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
BATCH_SECONDS = Histogram(
    "cc_consumer_batch_seconds",
    "Time to handle one batch (load, decide, commit, publish), by consumer",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMED = Counter(
    "cc_consumed_messages_total",
    "Messages consumed by batched consumers, by consumer and outcome (acked, requeued, rejected)",
    ["consumer", "outcome"],
)


@dataclass
class Delivery:
    """One message of a batch: its decoded JSON body and the broker's envelope."""

    message: AbstractIncomingMessage
    body: Any = None
    arrived: float = field(default_factory=time.monotonic)

    @property
    def redelivered(self) -> bool:
        return bool(self.message.redelivered)

    @property
    def routing_key(self) -> str:
        return str(self.message.routing_key or "")


BatchHandler = Callable[[list[Delivery]], Awaitable[None]]


class Undecodable(Exception):
    """A body no redelivery can fix: rejected straight to the dead-letter queue."""


class BatchConsumer:
    """Consumes one queue in micro-batches and hands each batch to `handle`.

    `handle` must be idempotent per message (redeliveries are normal) and raise to refuse
    the batch; it may raise `Undecodable` for a batch of one to dead-letter that message.
    """

    def __init__(
        self,
        name: str,
        queue_name: str,
        handle: BatchHandler,
        *,
        max_batch: int,
        max_wait: float,
        prefetch: int,
    ) -> None:
        self.name = name
        self.queue_name = queue_name
        self.handle = handle
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        # Room for the next batch to gather while one is being handled.
        self.prefetch = max(prefetch, 2 * self.max_batch)
        self._buffer: list[Delivery] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._channel: AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.get_queue(self.queue_name, ensure=True)
        self._channel = channel
        self._consumer_tag = await queue.consume(self._on_message)
        self._task = asyncio.create_task(self._run(), name=f"batch-{self.name}")

    async def stop(self) -> None:
        """Stop taking messages, handle what was delivered already, then close."""
        self._stopping = True
        if self._channel is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                queue = await self._channel.get_queue(self.queue_name, ensure=False)
                await queue.cancel(self._consumer_tag)
        self._arrived.set()
        self._full.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self._buffer.append(Delivery(message))
        self._arrived.set()
        if len(self._buffer) >= self.max_batch:
            self._full.set()

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                if self._stopping:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if len(self._buffer) < self.max_batch and not self._stopping:
                # The window opens when the oldest waiting message arrived: a batch that
                # queued behind a slow one goes at once (group commit, no added delay).
                remaining = self._buffer[0].arrived + self.max_wait - time.monotonic()
                if remaining > 0:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), remaining)
            batch = self._buffer[: self.max_batch]
            del self._buffer[: len(batch)]
            if len(self._buffer) < self.max_batch:
                self._full.clear()
            try:
                await self._process(batch)
            except Exception as exc:  # never let the loop die: the messages stay unacked
                log.error("batch_loop_error", consumer=self.name, error=repr(exc))

    async def _process(self, batch: list[Delivery]) -> None:
        started = time.perf_counter()
        good: list[Delivery] = []
        for delivery in batch:
            if delivery.redelivered:
                # The same counter as FastStream's subscribers (shared/bus.py): one metric
                # and one alert for redeliveries, whoever consumes.
                REDELIVERED.labels(delivery.routing_key.split(".", 1)[0] or "direct").inc()
            try:
                delivery.body = json.loads(delivery.message.body)
            except ValueError:
                await self._settle(delivery, "rejected")
                continue
            version = unsupported_version(delivery.body)
            if version is not None:
                refuse_version(
                    delivery.routing_key,
                    delivery.message.message_id,
                    version,
                    str(UnsupportedSchemaVersion(version, delivery.routing_key)),
                )
                await self._settle(delivery, "rejected")
                continue
            good.append(delivery)
        if good:
            try:
                await self.handle(good)
            except Exception as exc:
                log.warning(
                    "batch_failed_retrying_one_by_one",
                    consumer=self.name,
                    size=len(good),
                    error=repr(exc),
                )
                await self._one_by_one(good)
            else:
                await self._ack_all(good)
        BATCH_SIZE.labels(self.name).observe(len(batch))
        BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def _one_by_one(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            try:
                await self.handle([delivery])
            except Undecodable as exc:
                if isinstance(exc.__cause__, UnsupportedSchemaVersion):
                    cause = exc.__cause__
                    refuse_version(
                        delivery.routing_key, delivery.message.message_id, cause.version, str(cause)
                    )
                await self._settle(delivery, "rejected")
            except Exception as exc:
                with bind_context(event_id=delivery.message.message_id):
                    log.error("message_failed", consumer=self.name, error=repr(exc))
                await self._settle(delivery, "requeued")
            else:
                await self._settle(delivery, "acked")

    async def _ack_all(self, deliveries: list[Delivery]) -> None:
        # One frame acknowledges the whole batch: every earlier delivery of this channel is
        # settled already (batches are handled in order).
        try:
            await deliveries[-1].message.ack(multiple=True)
        except Exception as exc:  # channel lost: the broker redelivers, handlers are idempotent
            log.warning("ack_failed", consumer=self.name, error=repr(exc))
            return
        CONSUMED.labels(self.name, "acked").inc(len(deliveries))

    async def _settle(self, delivery: Delivery, outcome: str) -> None:
        try:
            if outcome == "acked":
                await delivery.message.ack()
            elif outcome == "requeued":
                await delivery.message.nack(requeue=True)
            else:
                await delivery.message.reject(requeue=False)
        except Exception as exc:
            log.warning("settle_failed", consumer=self.name, outcome=outcome, error=repr(exc))
            return
        CONSUMED.labels(self.name, outcome).inc()


class GroupCommit(Generic[T, R]):
    """Coalesces concurrent single writes into one command (group commit).

    The first caller's item goes at once; items submitted while a command is in flight go
    together in the next one. Nothing waits for a timer, so a lone request pays one round
    trip as before, and a burst pays one round trip per batch instead of one per item.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[list[R]]],
        max_items: int = 500,
        linger: float = 0.0,
    ):
        self.flush = flush
        self.max_items = max_items
        # For `submit_later`: how long the first item waits for others to join it.
        self.linger = linger
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._draining = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps weak references

    async def submit(self, item: T, linger: float = 0.0) -> R:
        """Write `item` with whatever else is submitted meanwhile (and, when this item starts
        a command, within `linger` seconds: a small wait that lets steady traffic group)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._draining:
            self._draining = True
            self._task = asyncio.create_task(self._drain(linger))
        return await future

    def submit_later(self, item: T) -> None:
        """Queue an item nobody waits for (e.g. bookkeeping a crash may lose harmlessly):
        it goes with whatever else is queued within `linger` seconds. A failure is logged."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_log_failure)
        self._pending.append((item, future))
        if not self._draining:
            self._draining = True
            self._task = asyncio.create_task(self._drain(self.linger))

    async def _drain(self, linger: float = 0.0) -> None:
        try:
            if linger:
                await asyncio.sleep(linger)
            while self._pending:
                batch = self._pending[: self.max_items]
                del self._pending[: len(batch)]
                try:
                    results = await self.flush([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = False


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("deferred_write_failed", error=repr(future.exception()))


def decode_all(deliveries: list[Delivery], parse: Callable[[Any], T]) -> list[T]:
    """Each delivery's body as a contract, in the current shape (a previous-version body is
    upgraded by the contract itself); a body no contract fits, or of a contracts version
    this process cannot read, is `Undecodable` (the consumer then dead-letters that message
    alone)."""
    decoded: list[T] = []
    for delivery in deliveries:
        try:
            decoded.append(parse(delivery.body))
        except (ValidationError, UnsupportedSchemaVersion) as exc:
            raise Undecodable(str(exc)) from exc
    return decoded


def batch_consumer(
    settings: Settings, name: str, queue_name: str, handle: BatchHandler
) -> BatchConsumer:
    """A consumer of one queue with the process's batch settings."""
    return BatchConsumer(
        name,
        queue_name,
        handle,
        max_batch=settings.batch_max_messages,
        max_wait=settings.batch_max_wait_ms / 1000,
        prefetch=settings.prefetch_count,
    )


async def start_all(connection: AbstractRobustConnection, consumers: list[BatchConsumer]) -> None:
    for consumer in consumers:
        await consumer.start(connection)


async def stop_all(consumers: list[BatchConsumer]) -> None:
    """Stop taking messages on every consumer, then let each drain what it holds."""
    for consumer in consumers:
        await consumer.stop()
