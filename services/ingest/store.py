"""MongoDB: the dedupe keys of inbound events (db `ingest`, collection `dedupe`, _id = key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Document

# Meta retries for up to 7 days; keep keys comfortably longer than that.
DEDUPE_TTL_SECONDS = 30 * 24 * 3600


class DedupeStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["dedupe"]

    async def ensure_indexes(self) -> None:
        # Lookups are by _id (always indexed); this index only expires old keys.
        await self.collection.create_index(
            "recorded_at", expireAfterSeconds=DEDUPE_TTL_SECONDS, name="dedupe_ttl"
        )

    async def already_seen(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        cursor = self.collection.find({"_id": {"$in": list(keys)}}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}

    async def record(self, key: str, channel: str, kind: str, now: datetime) -> None:
        """Idempotent: recording a key twice (two racing deliveries) is harmless."""
        await self.collection.update_one(
            {"_id": key},
            {"$setOnInsert": {"channel": channel, "kind": kind, "recorded_at": now}},
            upsert=True,
        )
