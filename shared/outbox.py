"""Transactional outbox: an event is first written to MongoDB, then published.

A handler writes its state change and stages the events it owes in the same database
(keyed by `event_id`, so staging twice is harmless). `flush()` publishes what is staged at
once; a background relay retries anything left behind by a crash or a broker outage.
A crash between the write and the publish therefore delays an event, never loses it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.background import cancel, repeat
from shared.bus import Bus
from shared.contracts.base import Event, utcnow
from shared.logging import get_logger
from shared.mongo import Document

log = get_logger("outbox")


class Outbox:
    COLLECTION = "outbox"

    def __init__(self, db: AsyncDatabase[Document], bus: Bus, registry: dict[str, type[Event]]):
        self.collection = db[self.COLLECTION]
        self.bus = bus
        self.registry = registry  # message_type name -> Event class, to rebuild staged events
        self._task: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("published", ASCENDING), ("staged_at", ASCENDING)])
        # Published events are kept three days for inspection, then expire.
        await self.collection.create_index("published_at", expireAfterSeconds=3 * 24 * 3600)

    async def stage(
        self, events: list[Event], session: AsyncClientSession | None = None
    ) -> list[Event]:
        """Write the events owed, in one round trip; events staged before are left as they are."""
        if not events:
            return events
        now = utcnow()
        docs = [
            {
                "_id": event.event_id,
                "type": type(event).__name__,
                "routing_key": event.routing_key(),
                "body": event.model_dump(mode="json"),
                "published": False,
                "staged_at": now,
            }
            for event in events
        ]
        try:
            await self.collection.insert_many(docs, ordered=False, session=session)
        except BulkWriteError as exc:
            # A redelivered cause stages the same deterministic ids again: not an error.
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
        return events

    async def flush(self, events: list[Event]) -> None:
        """Publish staged events now, in order; whatever fails stays for the relay."""
        published: list[str] = []
        try:
            for event in events:
                await self.bus.publish(event)
                published.append(event.event_id)
        except Exception as exc:
            log.warning("outbox_publish_deferred", event_id=event.event_id, error=str(exc))
        if published:
            await self.collection.update_many(
                {"_id": {"$in": published}}, {"$set": {"published": True, "published_at": utcnow()}}
            )

    async def publish(self, events: list[Event]) -> None:
        await self.stage(events)
        await self.flush(events)

    async def relay_once(self, older_than: timedelta = timedelta(seconds=2)) -> int:
        cutoff = utcnow() - older_than
        sent = 0
        cursor = self.collection.find({"published": False, "staged_at": {"$lte": cutoff}}).sort(
            "staged_at", ASCENDING
        )
        async for doc in cursor.limit(500):
            cls = self.registry.get(doc["type"])
            if cls is None:
                log.error("outbox_unknown_type", type=doc["type"], event_id=doc["_id"])
                continue
            event = cls.model_validate(doc["body"])
            await self.bus.publish(event, doc["routing_key"])
            await self.collection.update_one(
                {"_id": doc["_id"]}, {"$set": {"published": True, "published_at": utcnow()}}
            )
            sent += 1
        return sent

    def start(self, interval: float = 1.0) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                repeat(self.relay_once, interval, "outbox-relay"), name="outbox-relay"
            )

    async def stop(self) -> None:
        if self._task is not None:
            await cancel([self._task])
            self._task = None
