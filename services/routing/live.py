"""Live activity: every `conversation.*` event, pushed to connected staff as server-sent events.

The staff console keeps its state from the HTTP API (`/api/stream`, `/api/conversations/…`);
this feed only says *what changed, when*, so the console refetches at once instead of
polling. That choice makes the feed allowed to lose things: a hint lost while the broker or
the connection is down is covered by the console refetching on every (re)connection (the
`ready` / `resync` events below).

Several processes: each process serving the API declares its own exclusive, auto-delete
queue bound to `conversation.*` on the `contact.events` exchange, so every replica sees
every event whatever replica published it, and the queue vanishes with the process (or
when its last browser leaves: the consumer runs only while somebody listens). Messages
are consumed without acknowledgement and the queue is capped (drop-head): a slow or stuck
console can never make the broker hoard events.

Fan-out per connected user: each client has a bounded queue; a client that falls behind
is told to `resync` rather than slowing the others. Event ids are `<process>-<seq>`: a
reconnection carrying `Last-Event-ID` to the same process gets what it missed from a
small ring buffer; to another process (or too old), a `resync`. When the broker connection
comes back after a loss (aio-pika's robust connection re-declares the queue), every
connected console gets a `resync` too: what was published meanwhile never reached this feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from shared.auth import User, credential_still_valid, may, settings_dependency
from shared.bus import EXCHANGE, connect_cluster
from shared.config import Settings
from shared.contracts.base import UNVERSIONED, readable
from shared.logging import get_logger

log = get_logger("routing.live")

PATTERN = "conversation.*"
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
# A connection ends after this long and the browser reconnects at once: no response lives
# forever, so a process stopping never waits on a console.
MAX_CONNECTION_SECONDS = 300.0
CLIENT_BUFFER = 500
REPLAY_BUFFER = 1000
QUEUE_MAX_LENGTH = 10_000


@dataclass(frozen=True)
class LiveEvent:
    """One conversation change, as the console receives it (no message or note text)."""

    id: str
    action: str
    actor: str
    occurred_at: str | None
    conversation: dict[str, Any]

    def visible_to(self, user: User) -> bool:
        """Every staff role may read every conversation (`GET /api/stream`), so every change
        goes to all of them, except a hold reminder: it speaks to the holder alone."""
        if self.action == "hold_reminder":
            return self.conversation.get("holder") == user.actor
        return True

    def payload(self, user: User) -> str:
        body = {
            "action": self.action,
            "actor": self.actor,
            "occurred_at": self.occurred_at,
            "mine": self.conversation.get("holder") == user.actor,
            "conversation": self.conversation,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# Put in a listener's queue to make its console refetch everything.
RESYNC = LiveEvent(id="", action="resync", actor="", occurred_at=None, conversation={})


def live_event(event_id: str, body: bytes) -> LiveEvent | None:
    """The console's view of a `ConversationEvent` body; None for anything unreadable."""
    try:
        data = json.loads(body)
        if not readable(data.get("schema_version", UNVERSIONED)):
            return None  # a shape this process does not know: never shown misread
        snapshot = data["conversation"]
        return LiveEvent(
            id=event_id,
            action=str(data["action"]),
            actor=str(data.get("actor", "")),
            occurred_at=data.get("occurred_at"),
            conversation={
                key: snapshot.get(key)
                for key in (
                    "conversation_id",
                    "channel",
                    "customer_id",
                    "customer_name",
                    "status",
                    "holder",
                    "queue",
                    "last_message_at",
                    "last_message_preview",
                    "message_count",
                    "version",
                )
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def sse(event: str, data: str, event_id: str | None = None) -> str:
    """One server-sent event frame (data is one JSON line: never a bare newline in it)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


@dataclass(eq=False)
class Listener:
    user: User
    queue: asyncio.Queue[LiveEvent | None] = field(
        default_factory=lambda: asyncio.Queue(CLIENT_BUFFER)
    )
    lagging: bool = False

    def offer(self, event: LiveEvent) -> None:
        if not event.visible_to(self.user):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagging = True

    def resync(self) -> None:
        try:
            self.queue.put_nowait(RESYNC)
        except asyncio.QueueFull:
            self.lagging = True


class LiveFeed:
    """One per process: a broker consumer that runs while at least one console listens."""

    def __init__(self) -> None:
        self.process = uuid.uuid4().hex[:8]
        self._seq = itertools.count(1)
        self._recent: deque[LiveEvent] = deque(maxlen=REPLAY_BUFFER)
        self._listeners: set[Listener] = set()
        self._lock = asyncio.Lock()
        self._connection: AbstractRobustConnection | None = None

    async def listen(self, settings: Settings, user: User) -> Listener:
        """Register a console; starts the broker consumer for the first one (raises if the
        broker cannot be reached: the caller answers 503 and the console retries)."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self._consume(settings)
            listener = Listener(user)
            self._listeners.add(listener)
            return listener

    async def leave(self, listener: Listener) -> None:
        async with self._lock:
            self._listeners.discard(listener)
            if not self._listeners and self._connection is not None:
                await self._stop_consuming()

    async def close(self) -> None:
        """End every live connection and the consumer (for a process shutting down)."""
        async with self._lock:
            for listener in self._listeners:
                with contextlib.suppress(asyncio.QueueFull):
                    listener.queue.put_nowait(None)
            self._listeners.clear()
            if self._connection is not None:
                await self._stop_consuming()

    async def _stop_consuming(self) -> None:
        # A new epoch: ids handed out before cannot be replayed (events arriving while
        # nobody listened were never seen), so a reconnection carrying one gets a resync.
        connection, self._connection = self._connection, None
        self._new_epoch()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    def missed_since(self, last_event_id: str | None) -> list[LiveEvent] | None:
        """Events after `last_event_id` if this process still holds them, else None."""
        if not last_event_id:
            return []
        process, _, seq = last_event_id.partition("-")
        if process != self.process or not seq.isdigit():
            return None
        events = [e for e in self._recent if int(e.id.partition("-")[2]) > int(seq)]
        oldest = self._recent[0] if self._recent else None
        if oldest is not None and int(oldest.id.partition("-")[2]) > int(seq) + 1:
            return None  # the gap is older than the ring buffer
        return events

    async def _consume(self, settings: Settings) -> AbstractRobustConnection:
        prefix = f"{settings.bus_namespace}." if settings.bus_namespace else ""
        connection = await asyncio.wait_for(connect_cluster(settings.amqp_url), timeout=5)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                f"{prefix}{EXCHANGE}", aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Named by us (not amq.gen-*) so the robust connection can re-declare it after a
            # broker restart.
            queue = await channel.declare_queue(
                f"{prefix}routing.live.{self.process}",
                exclusive=True,
                auto_delete=True,
                arguments={"x-max-length": QUEUE_MAX_LENGTH, "x-overflow": "drop-head"},
            )
            await queue.bind(exchange, routing_key=PATTERN)
            await queue.consume(self._deliver, no_ack=True)
            connection.reconnect_callbacks.add(self._reconnected)
        except BaseException:
            await connection.close()
            raise
        log.info("live feed consuming", queue=queue.name)
        return connection

    def _reconnected(self, _connection: object) -> None:
        """The broker came back (aio-pika re-declared the queue): whatever was published
        meanwhile is lost to this feed, so every console refetches, and ids handed out before
        can no longer be replayed."""
        self._new_epoch()
        for listener in list(self._listeners):
            listener.resync()

    def _new_epoch(self) -> None:
        self.process = uuid.uuid4().hex[:8]
        self._recent.clear()

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        event = live_event(f"{self.process}-{next(self._seq)}", message.body)
        if event is None:
            return
        self._recent.append(event)
        for listener in list(self._listeners):
            listener.offer(event)


async def frames(
    feed: LiveFeed,
    listener: Listener,
    user: User,
    last_event_id: str | None,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The body of one SSE response: ready (or replay, or resync), events, heartbeats. At
    every heartbeat `still_allowed` is asked again: a revoked or signed-out user's feed ends
    there (the console then reconnects, is refused, and asks to sign in)."""
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        missed = feed.missed_since(last_event_id)
        if missed is None:
            yield sse("resync", "{}")
        else:
            for event in missed:
                if event.visible_to(user):
                    yield sse("conversation", event.payload(user), event.id)
        yield sse("ready", json.dumps({"user": user.actor, "role": user.role}))
        ends_at = time.monotonic() + MAX_CONNECTION_SECONDS
        while time.monotonic() < ends_at:
            try:
                change = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                if still_allowed is not None and not await still_allowed():
                    return
                yield ": latido\n\n"
                continue
            if change is None:
                return
            if change is RESYNC:
                yield sse("resync", "{}")
                continue
            yield sse("conversation", change.payload(user), change.id)
            if listener.lagging:
                listener.lagging = False
                yield sse("resync", "{}")
    finally:
        await feed.leave(listener)


def add_route(router: APIRouter, feed: LiveFeed) -> None:
    """`GET /api/stream/live` on routing's router: reading, like `GET /api/stream`."""

    # Not in the OpenAPI schema: an endless text/event-stream that schema tools cannot drive.
    @router.get("/stream/live", include_in_schema=False)
    async def stream_live(
        request: Request,
        user: Annotated[User, may("conversations.read")],
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events: each conversation change (`event: conversation`), `ready` once
        connected, `resync` when the console must refetch; 503 while the broker is away."""
        try:
            listener = await feed.listen(settings_dependency(request), user)
        except Exception as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "live feed unavailable; retry shortly"
            ) from exc
        return StreamingResponse(
            frames(feed, listener, user, last_event_id, lambda: credential_still_valid(request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
