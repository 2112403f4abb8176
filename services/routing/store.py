"""MongoDB storage of the routing service: conversations and what hangs off them.

Collections (database `routing`):
- `conversations`: one document per conversation; `version` grows with every change and
  guards compare-and-set updates.
- `open_conversations`: `_id` = identity key (`whatsapp:+54...`), the ONE open conversation
  of that customer on that channel; deleted on close. Its unique `_id` makes "find or open"
  race-free on any MongoDB wire server.
- `messages`: `_id` = inbound event id (a redelivery is a no-op) or our outbound event id.
- `events`: the audit trail (who, what, when, note). `notes`: internal notes.
- `identities` / `customers`: projection of the customers service's events.
- `blocked_messages`: what a blocked identity wrote (recorded, never answered).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.routing.domain import stream_rank
from shared.mongo import Document


class Store:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.conversations = db["conversations"]
        self.open_conversations = db["open_conversations"]
        self.messages = db["messages"]
        self.events = db["events"]
        self.notes = db["notes"]
        self.identities = db["identities"]
        self.customers = db["customers"]
        self.blocked_messages = db["blocked_messages"]

    async def ensure_indexes(self) -> None:
        c = self.conversations
        await c.create_index([("holder_kind", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("holder", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("status", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("channel", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("identity_key", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("customer_id", ASCENDING)])
        await c.create_index([("last_activity_at", DESCENDING)])
        await self.messages.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)])
        await self.messages.create_index([("external_message_id", ASCENDING)])
        await self.messages.create_index([("identity_key", ASCENDING), ("at", ASCENDING)])
        await self.events.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)])
        await self.notes.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)])
        await self.identities.create_index([("customer_id", ASCENDING)])
        await self.blocked_messages.create_index([("identity_key", ASCENDING)])

    # --- conversations ---------------------------------------------------------------

    async def get(self, conversation_id: str) -> Document | None:
        return await self.conversations.find_one({"_id": conversation_id})

    async def open_conversation_id(self, identity_key: str) -> str | None:
        doc = await self.open_conversations.find_one({"_id": identity_key})
        return doc["conversation_id"] if doc else None

    async def claim_open_slot(self, identity_key: str, conversation_id: str) -> str:
        """The open conversation of this identity: ours if the slot was free, else the one
        that holds it."""
        try:
            await self.open_conversations.insert_one(
                {"_id": identity_key, "conversation_id": conversation_id}
            )
        except DuplicateKeyError:
            existing = await self.open_conversation_id(identity_key)
            if existing is not None:
                return existing
            return await self.claim_open_slot(identity_key, conversation_id)
        return conversation_id

    async def release_open_slot(self, identity_key: str, conversation_id: str) -> None:
        await self.open_conversations.delete_one(
            {"_id": identity_key, "conversation_id": conversation_id}
        )

    async def create_if_missing(self, doc: Document) -> Document:
        result = await self.conversations.find_one_and_update(
            {"_id": doc["_id"]},
            {"$setOnInsert": doc},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if result is None:
            # SecantusDB sometimes answers a racing upsert without the document: read it.
            result = await self.conversations.find_one({"_id": doc["_id"]})
        if result is None:
            raise RuntimeError(f"conversation {doc['_id']} neither inserted nor found")
        return result

    async def compare_and_set(
        self, conversation_id: str, version: int, changes: dict[str, Any]
    ) -> Document | None:
        """Apply `changes` only if nobody changed the conversation since `version` was read;
        the updated document, or None when another writer got there first."""
        update: dict[str, Any] = {"$inc": {"version": 1}}
        if changes:
            update["$set"] = changes
        return await self.conversations.find_one_and_update(
            {"_id": conversation_id, "version": version},
            update,
            return_document=ReturnDocument.AFTER,
        )

    async def update(
        self, conversation_id: str, set_: dict[str, Any], inc: dict[str, int] | None = None
    ) -> Document | None:
        """An unconditional (commutative) change, such as appending a message."""
        update: dict[str, Any] = {"$inc": {"version": 1, **(inc or {})}}
        if set_:
            update["$set"] = set_
        return await self.conversations.find_one_and_update(
            {"_id": conversation_id}, update, return_document=ReturnDocument.AFTER
        )

    async def list_conversations(
        self, query: dict[str, Any], page: int, page_size: int
    ) -> tuple[list[Document], int]:
        total = await self.conversations.count_documents(query)
        cursor = (
            self.conversations.find(query)
            .sort([("last_activity_at", DESCENDING), ("_id", ASCENDING)])
            .skip((page - 1) * page_size)
            .limit(page_size)
        )
        return [d async for d in cursor], total

    async def stream(
        self, me: str, query: dict[str, Any], page: int, page_size: int
    ) -> tuple[list[Document], int]:
        """The activity stream: one query per group, in the order of `stream_rank`, paging
        across the groups."""
        groups: list[dict[str, Any]] = [
            {"status": {"$ne": "cerrada"}, "holder": me},
            {"status": {"$ne": "cerrada"}, "holder_kind": "staff", "holder": {"$ne": me}},
            {"status": {"$ne": "cerrada"}, "holder_kind": "agent", "holder": {"$ne": me}},
            {"status": {"$ne": "cerrada"}, "holder_kind": "lara"},
            {"status": {"$ne": "cerrada"}, "holder_kind": "queue"},
            {"status": "cerrada"},
        ]
        skip = (page - 1) * page_size
        remaining = page_size
        items: list[Document] = []
        total = 0
        for group in groups:
            group_query = {**query, **group}
            if "status" in query:
                group_query = {"$and": [query, group]}
            count = await self.conversations.count_documents(group_query)
            total += count
            if remaining <= 0 or count == 0:
                continue
            if skip >= count:
                skip -= count
                continue
            cursor = (
                self.conversations.find(group_query)
                .sort([("last_activity_at", DESCENDING), ("_id", ASCENDING)])
                .skip(skip)
                .limit(remaining)
            )
            found = [d async for d in cursor]
            skip = 0
            remaining -= len(found)
            items.extend(found)
        items.sort(key=lambda d: stream_rank(d.get("holder"), d["status"], me))  # stable
        return items, total

    async def count_by_kind_and_status(self) -> dict[tuple[str, str], int]:
        cursor = await self.conversations.aggregate(
            [{"$group": {"_id": {"k": "$holder_kind", "s": "$status"}, "n": {"$sum": 1}}}]
        )
        return {(d["_id"]["k"], d["_id"]["s"]): int(d["n"]) async for d in cursor}

    # --- messages, events, notes -------------------------------------------------------

    async def message_applied(self, message_id: str) -> bool:
        doc = await self.messages.find_one({"_id": message_id}, {"applied": 1})
        return bool(doc and doc.get("applied"))

    async def insert_message(self, doc: Document) -> bool:
        try:
            await self.messages.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def mark_applied(self, message_id: str) -> None:
        await self.messages.update_one({"_id": message_id}, {"$set": {"applied": True}})

    async def get_message(self, conversation_id: str, message_id: str) -> Document | None:
        return await self.messages.find_one({"_id": message_id, "conversation_id": conversation_id})

    async def recent_messages(self, conversation_id: str, limit: int) -> list[Document]:
        """The last `limit` messages, oldest first: what a bot needs, however long the chat."""
        cursor = (
            self.messages.find({"conversation_id": conversation_id})
            .sort([("at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        return list(reversed([d async for d in cursor]))

    async def messages_of(self, conversation_id: str) -> list[Document]:
        cursor = self.messages.find({"conversation_id": conversation_id}).sort(
            [("at", ASCENDING), ("seq", ASCENDING)]
        )
        return [d async for d in cursor]

    async def record_event(self, doc: Document) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.events.insert_one(doc)

    async def record_events(self, docs: list[Document]) -> None:
        """Write several audit events in one round trip; ones already written are skipped."""
        if not docs:
            return
        try:
            await self.events.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise

    async def events_of(self, conversation_id: str) -> list[Document]:
        cursor = self.events.find({"conversation_id": conversation_id}).sort("at", ASCENDING)
        return [d async for d in cursor]

    async def add_note(self, doc: Document) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.notes.insert_one(doc)

    async def notes_of(self, conversation_id: str) -> list[Document]:
        cursor = self.notes.find({"conversation_id": conversation_id}).sort("at", ASCENDING)
        return [d async for d in cursor]

    async def set_delivery(
        self, external_message_id: str, state: str, allowed_from: list[str | None], at: datetime
    ) -> int:
        result = await self.messages.update_many(
            {
                "$or": [{"_id": external_message_id}, {"external_message_id": external_message_id}],
                "direction": "outbound",
                "delivery": {"$in": allowed_from},
            },
            {"$set": {"delivery": state, "delivery_at": at}},
        )
        return int(result.modified_count)

    async def set_delivery_until(
        self,
        identity_key: str,
        until: datetime,
        state: str,
        allowed_from: list[str | None],
        at: datetime,
    ) -> int:
        result = await self.messages.update_many(
            {
                "identity_key": identity_key,
                "direction": "outbound",
                "at": {"$lte": until},
                "delivery": {"$in": allowed_from},
            },
            {"$set": {"delivery": state, "delivery_at": at}},
        )
        return int(result.modified_count)

    # --- customers projection ------------------------------------------------------------

    async def identity(self, identity_key: str) -> Document | None:
        return await self.identities.find_one({"_id": identity_key})

    async def customer(self, customer_id: str) -> Document | None:
        return await self.customers.find_one({"_id": customer_id})
