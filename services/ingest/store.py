"""MongoDB: the dedupe keys of inbound events (db `ingest`, collection `dedupe`, _id = key).

A key is first *claimed* (state `pending`), then recorded in `dedupe_published` once the
broker confirmed. The claim is an insert on the unique `_id`, so two deliveries of the same event
racing each other (Meta retries, connector redeliveries) cannot both publish it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.batching import GroupCommit
from shared.mongo import Document
from shared.outbox import insert_new

# Meta retries for up to 7 days; keep keys comfortably longer than that.
DEDUPE_TTL_SECONDS = 30 * 24 * 3600

Claim = Literal["claimed", "published", "pending"]


class DedupeStore:
    def __init__(self, db: AsyncDatabase[Document], stale_after: timedelta) -> None:
        self.collection = db["dedupe"]
        # Keys whose event the broker confirmed (a claim without one is still in flight, or
        # its process died mid-publish).
        self.published = db["dedupe_published"]
        # A pending claim older than this belongs to a process that died mid-publish.
        self.stale_after = stale_after
        # Webhooks arrive concurrently: their claims and marks share commands.
        self._claims: GroupCommit[Document, bool] = GroupCommit(self._insert_claims)
        # A mark is bookkeeping the webhook does not wait for: a crash before it leaves the
        # claim pending, and a channel's later duplicate then publishes again once the claim
        # is stale (consumers are idempotent). So marks gather for 100 ms per command.
        self._marks: GroupCommit[tuple[str, datetime], None] = GroupCommit(
            self._mark_many, linger=0.1
        )

    async def _insert_claims(self, docs: list[Document]) -> list[bool]:
        """Insert claims in one command; False for a key claimed already."""
        try:
            await self.collection.insert_many([dict(d) for d in docs], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            taken = {int(err["index"]) for err in errors}
            return [i not in taken for i in range(len(docs))]
        return [True] * len(docs)

    async def _mark_many(self, marks: list[tuple[str, datetime]]) -> list[None]:
        # An insert, not an update of the claim: a fraction of the cost on the database.
        await insert_new(self.published, [{"_id": key, "recorded_at": at} for key, at in marks])
        return [None] * len(marks)

    async def ensure_indexes(self) -> None:
        # Lookups are by _id (always indexed); this index only expires old keys.
        await self.collection.create_index(
            "recorded_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="dedupe_ttl"
        )
        await self.published.create_index(
            "recorded_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="published_ttl"
        )

    async def claim(self, key: str, channel: str, kind: str, now: datetime) -> Claim:
        """`claimed`: this caller must publish; `published`: a duplicate; `pending`: another
        delivery is publishing it right now."""
        doc = {
            "_id": key,
            "state": "pending",
            "channel": channel,
            "kind": kind,
            "claimed_at": now,
            "recorded_at": now,
        }
        if await self._claims.submit(doc):
            return "claimed"
        existing = await self.collection.find_one({"_id": key})
        if existing is None:  # released in between: try again once
            try:
                await self.collection.insert_one(doc)
                return "claimed"
            except DuplicateKeyError:
                return "pending"
        if existing.get("state") != "pending":
            return "published"
        if await self.published.find_one({"_id": key}, {"_id": 1}) is not None:
            return "published"
        claimed_at = existing.get("claimed_at")
        if isinstance(claimed_at, datetime) and claimed_at < now - self.stale_after:
            taken = await self.collection.update_one(
                {"_id": key, "state": "pending", "claimed_at": claimed_at},
                {"$set": {"claimed_at": now}},
            )
            if taken.modified_count == 1:
                return "claimed"
        return "pending"

    async def mark_published(self, key: str, now: datetime) -> None:
        self._marks.submit_later((key, now))

    async def release(self, key: str) -> None:
        """Give up a claim whose publish failed, so the channel's retry can publish."""
        await self.collection.delete_one({"_id": key, "state": "pending"})
