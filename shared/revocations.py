"""Per-user token revocation: `tokens_valid_after`, in the shared `access` database.

Revoking a user's tokens stores the second it happened; every token issued at or before that
second is refused from then on (JWT `iat` has whole-second precision, so a token issued in
the same second as the revocation is refused too: the user asks for a new one a second
later). Every process reads the same document, so a revocation reaches all of them; each
process trusts what it read for `revocation_cache_seconds`, and the process that revoked
knows at once.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from pymongo import AsyncMongoClient

from shared.config import Settings
from shared.mongo import Document

DATABASE = "access"


class Revocations:
    def __init__(self, settings: Settings, mongo: AsyncMongoClient[Document]) -> None:
        self.collection = mongo.get_database(settings.db_name(DATABASE)).get_collection(
            "revocations"
        )
        self.ttl = settings.revocation_cache_seconds
        self._cache: dict[str, tuple[float, float | None]] = {}

    async def valid_after(self, user_id: str) -> float | None:
        """The epoch second at or before which the user's tokens are void, if any."""
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        doc = await self.collection.find_one({"_id": user_id})
        value = float(doc["tokens_valid_after"]) if doc else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (now, value)
        return value

    async def revoke(self, user_id: str, by: str) -> datetime:
        """Void every token the user holds now; returns the revocation time (UTC)."""
        cutoff = float(math.floor(time.time()))
        await self.collection.update_one(
            {"_id": user_id},
            {"$set": {"tokens_valid_after": cutoff, "revoked_by": by}},
            upsert=True,
        )
        self._cache[user_id] = (time.monotonic(), cutoff)
        return datetime.fromtimestamp(cutoff, UTC)
