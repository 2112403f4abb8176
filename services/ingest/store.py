"""MongoDB: the dedupe keys of inbound events (db `ingest`, collection `dedupe`, _id = key).

A key is *claimed* before its event is published: an insert on the unique `_id`, so two
deliveries of the same event racing each other (Meta retries, connector redeliveries) cannot
both publish it. That insert is the only document written per event. Claims of concurrent
webhooks share one command (group commit, gathering for `claim_linger`).

Whether a claim's event was published is not written per event either. Each claim names its
owner (the process that made it); the owner knows what it has in flight, and every second
records in `dedupe_owners` one heartbeat: alive at, and `settled_before`, the time before
which each of its claims is settled (published, or released by deleting it). A claim of
another process is therefore published if it is older than its owner's `settled_before`; in
flight if its owner is alive; and taken over (published again: consumers are idempotent) once
stale if its owner died mid-publish. Keys recorded by earlier versions in `dedupe_published`
are still honoured.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.batching import GroupCommit
from shared.contracts.base import utcnow
from shared.logging import get_logger
from shared.mongo import Document

log = get_logger("ingest.dedupe")

# Meta retries for up to 7 days; keep keys comfortably longer than that.
DEDUPE_TTL_SECONDS = 30 * 24 * 3600
# Keys this process published, answered without a database read when delivered again.
RECENTLY_PUBLISHED = 100_000
DEDUPE_HEARTBEAT_SECONDS = 1.0

Claim = Literal["claimed", "published", "pending"]


class DedupeStore:
    def __init__(
        self, db: AsyncDatabase[Document], stale_after: timedelta, claim_linger: float = 0.005
    ) -> None:
        self.collection = db["dedupe"]
        self.owners = db["dedupe_owners"]
        # Written by earlier versions (one document per published key); read, never written.
        self.legacy_published = db["dedupe_published"]
        self.owner = uuid.uuid4().hex
        # A pending claim older than this belongs to a process that died mid-publish.
        self.stale_after = stale_after
        self.claim_linger = claim_linger
        # Webhooks arrive concurrently: their claims share commands.
        self._claims: GroupCommit[Document, bool] = GroupCommit(self._insert_claims)
        self._in_flight: dict[str, datetime] = {}  # claimed here, being published: claimed at
        self._unreleased: dict[str, datetime] = {}  # publish failed, delete failed: retried
        self._published: OrderedDict[str, None] = OrderedDict()

    async def _insert_claims(self, docs: list[Document]) -> list[bool]:
        """Insert claims in one command; False for a key claimed already."""
        try:
            await self.collection.insert_many([dict(d) for d in docs], ordered=False)
            taken: set[int] = set()
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            taken = {int(err["index"]) for err in errors}
        for i, doc in enumerate(docs):  # before any caller resumes: a duplicate sees it
            if i not in taken:
                self._in_flight[doc["_id"]] = doc["claimed_at"]
        return [i not in taken for i in range(len(docs))]

    async def ensure_indexes(self) -> None:
        # Lookups are by _id (always indexed); these indexes only expire old keys.
        await self.collection.create_index(
            "recorded_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="dedupe_ttl"
        )
        await self.legacy_published.create_index(
            "recorded_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="published_ttl"
        )
        # An owner's heartbeat must outlive its claims: it says which of them are settled.
        await self.owners.create_index(
            "alive_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="owners_ttl"
        )

    async def claim(self, key: str, channel: str, kind: str, now: datetime) -> Claim:
        """`claimed`: this caller must publish; `published`: a duplicate; `pending`: another
        delivery is publishing it right now."""
        if key in self._published:
            return "published"
        if key in self._in_flight:
            return "pending"
        doc = {
            "_id": key,
            "state": "pending",
            "owner": self.owner,
            "channel": channel,
            "kind": kind,
            "claimed_at": now,
            "recorded_at": now,
        }
        if await self._claims.submit(doc, linger=self.claim_linger):
            return "claimed"
        existing = await self.collection.find_one({"_id": key})
        if existing is None:  # released in between: try again once
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError:
                return "pending"
            self._in_flight[key] = now
            return "claimed"
        return await self._settled(existing, now)

    async def _settled(self, existing: Document, now: datetime) -> Claim:
        key = existing["_id"]
        if existing.get("state") != "pending":
            return "published"
        owner = existing.get("owner")
        claimed_at = existing.get("claimed_at")
        if owner == self.owner:
            if key in self._in_flight:
                return "pending"
            if key not in self._unreleased:
                return "published"  # a failed publish deletes its claim
        elif owner is not None:
            heartbeat = await self.owners.find_one({"_id": owner})
            if heartbeat is not None:
                if isinstance(claimed_at, datetime) and claimed_at < heartbeat["settled_before"]:
                    return "published"
                if heartbeat["alive_at"] >= now - self.stale_after:
                    return "pending"  # its owner is publishing it
        elif await self.legacy_published.find_one({"_id": key}, {"_id": 1}) is not None:
            return "published"
        if key in self._unreleased or (
            isinstance(claimed_at, datetime) and claimed_at < now - self.stale_after
        ):
            taken = await self.collection.update_one(
                {"_id": key, "state": "pending", "claimed_at": claimed_at},
                {"$set": {"claimed_at": now, "owner": self.owner}},
            )
            if taken.modified_count == 1:
                self._unreleased.pop(key, None)
                self._in_flight[key] = now
                return "claimed"
        return "pending"

    async def mark_published(self, key: str, now: datetime) -> None:
        """The broker confirmed the event: settled. Nothing is written (see the heartbeat)."""
        self._in_flight.pop(key, None)
        self._published[key] = None
        while len(self._published) > RECENTLY_PUBLISHED:
            self._published.popitem(last=False)

    async def release(self, key: str) -> None:
        """Give up a claim whose publish failed, so the channel's retry can publish. If the
        delete fails too, the claim stays unsettled (heartbeats say so) until it succeeds."""
        claimed_at = self._in_flight.pop(key, None) or utcnow()
        try:
            await self.collection.delete_one({"_id": key, "state": "pending"})
        except Exception:
            self._unreleased[key] = claimed_at
            raise

    async def heartbeat(self) -> None:
        """Retry unreleased claims, then record that this owner is alive and which of its
        claims are settled (all those claimed before its oldest unsettled one)."""
        for key, claimed_at in list(self._unreleased.items()):
            await self.collection.delete_one({"_id": key, "state": "pending", "owner": self.owner})
            if self._unreleased.get(key) == claimed_at:
                del self._unreleased[key]
        now = utcnow()
        unsettled = [*self._in_flight.values(), *self._unreleased.values()]
        await self.owners.update_one(
            {"_id": self.owner},
            {"$set": {"alive_at": now, "settled_before": min([now, *unsettled])}},
            upsert=True,
        )
