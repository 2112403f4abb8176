"""MongoDB of shared/access: users, sessions, login failures and the access audit.

The only module of the package that speaks MongoDB. Everything lives in the `access`
database (with `MONGO_DB_PREFIX`), next to the token revocations of `shared/revocations.py`.

- `users`: `_id` = the login name; `name`, `role`, `active`, `password_hash`, times, who.
- `sessions`: `_id` = SHA-256 of the opaque cookie value (the value itself is never stored,
  so a database reader cannot sign in with it); `user_id`, `role`, `csrf`, `expires_at`
  (a TTL index removes expired ones).
- `login_failures`: `_id` = login name + client address; failures in the current window and
  `locked_until` once the limit is reached.
- `audit`: one entry per sign-in, refusal, sign-out and account change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.mongo import Document

DATABASE = "access"


class UserExists(Exception):
    pass


class AccessStore:
    def __init__(self, settings: Settings, mongo: AsyncMongoClient[Document]) -> None:
        db = mongo.get_database(settings.db_name(DATABASE))
        self.users = db.get_collection("users")
        self.sessions = db.get_collection("sessions")
        self.failures = db.get_collection("login_failures")
        self.audit = db.get_collection("audit")

    async def ensure_indexes(self) -> None:
        await self.sessions.create_index([("user_id", ASCENDING)])
        # Expired sessions are refused on read already; the TTL index only tidies them away.
        await self.sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self.users.create_index([("active", ASCENDING), ("role", ASCENDING)])
        await self.audit.create_index([("at", ASCENDING)])

    # --- users ------------------------------------------------------------------------

    async def user(self, user_id: str) -> Document | None:
        return await self.users.find_one({"_id": user_id})

    async def users_by_id(self, user_ids: list[str]) -> list[Document]:
        return [doc async for doc in self.users.find({"_id": {"$in": user_ids}})]

    async def all_users(self, only_active: bool = False) -> list[Document]:
        query: dict[str, Any] = {"active": True} if only_active else {}
        return [doc async for doc in self.users.find(query).sort("_id", ASCENDING)]

    async def any_active_admin(self) -> bool:
        return await self.users.find_one({"role": "admin", "active": True}) is not None

    async def insert_user(self, doc: Document) -> None:
        try:
            await self.users.insert_one(doc)
        except DuplicateKeyError as exc:
            raise UserExists(doc["_id"]) from exc

    async def update_user(self, user_id: str, changes: Document) -> Document | None:
        """Apply `changes` ($set); the updated user, or None when there is no such user."""
        return await self.users.find_one_and_update(
            {"_id": user_id}, {"$set": changes}, return_document=True
        )

    # --- sessions ---------------------------------------------------------------------

    async def insert_session(self, doc: Document) -> None:
        await self.sessions.insert_one(doc)

    async def session(self, session_id: str) -> Document | None:
        return await self.sessions.find_one({"_id": session_id})

    async def delete_session(self, session_id: str) -> Document | None:
        return await self.sessions.find_one_and_delete({"_id": session_id})

    async def delete_sessions_of(self, user_id: str) -> int:
        result = await self.sessions.delete_many({"user_id": user_id})
        return result.deleted_count

    # --- failed sign-ins --------------------------------------------------------------

    async def failures_of(self, key: str) -> Document | None:
        return await self.failures.find_one({"_id": key})

    async def save_failures(
        self, key: str, failures: int, started: datetime, locked_until: datetime | None
    ) -> None:
        await self.failures.replace_one(
            {"_id": key},
            {"_id": key, "failures": failures, "started": started, "locked_until": locked_until},
            upsert=True,
        )

    async def forget_failures(self, key: str) -> None:
        await self.failures.delete_one({"_id": key})

    # --- audit ------------------------------------------------------------------------

    async def record(self, entry: Document) -> None:
        await self.audit.insert_one({"_id": uuid.uuid4().hex, **entry})

    async def audit_entries(self, limit: int, user_id: str | None = None) -> list[Document]:
        query: dict[str, Any] = {"user_id": user_id} if user_id else {}
        cursor = self.audit.find(query).sort("at", -1).limit(limit)
        return [doc async for doc in cursor]
