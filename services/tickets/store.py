"""MongoDB of the tickets service: services, consultations, counters, the conversation
projection and sales calls.

Every state change is a compare-and-set on `version` (or `revision` for sales calls), so two
concurrent requests can never both win from the same state.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.tickets.domain import ANONYMIZED, Period
from shared.mongo import Document
from shared.outbox import Outbox

SERVICE_COUNTER = "service_number"


class TicketsStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.services = db["services"]
        self.consultations = db["consultations"]
        self.counters = db["counters"]
        self.conversations = db["conversations"]
        self.sales_calls = db["sales_calls"]
        # `_id` = origin key (`conversation:<id>` / `call:<sid>`) → the service holding it.
        self.open_services = db["open_services"]
        # `_id` = `<actor>:<Idempotency-Key>` → the service the first request created.
        self.idempotency = db["idempotency_keys"]

    async def ensure_indexes(self) -> None:
        await self.services.create_index("number", unique=True)
        await self.services.create_index("seq", unique=True)
        await self.services.create_index([("status", ASCENDING), ("created_at", DESCENDING)])
        await self.services.create_index("created_at")
        await self.services.create_index("search_keys")
        await self.services.create_index("conversation_id")
        await self.services.create_index("consultation_id")
        await self.services.create_index("unpublished", sparse=True)
        await self.consultations.create_index("unpublished", sparse=True)
        await self.consultations.create_index([("status", ASCENDING), ("created_at", DESCENDING)])
        await self.consultations.create_index("created_at")
        await self.consultations.create_index("search_keys")
        await self.conversations.create_index("call.call_sid")
        await self.sales_calls.create_index("received_at")
        # The counter exists before the first creation, so concurrent first allocations
        # never race on an upsert.
        with contextlib.suppress(DuplicateKeyError):
            await self.counters.update_one(
                {"_id": SERVICE_COUNTER}, {"$setOnInsert": {"seq": 0}}, upsert=True
            )

    # --- counters ----------------------------------------------------------------------------

    async def next_seq(self, name: str = SERVICE_COUNTER) -> int:
        """Atomically allocate the next number: each caller gets its own, none is reused."""
        for _ in range(5):
            try:
                doc = await self.counters.find_one_and_update(
                    {"_id": name},
                    {"$inc": {"seq": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # two first upserts raced; the loser retries
                continue
            assert doc is not None
            return int(doc["seq"])
        raise RuntimeError(f"could not allocate from counter {name!r}")

    # --- generic documents -------------------------------------------------------------------

    @staticmethod
    async def _get(collection: Any, doc_id: str) -> Document | None:
        doc: Document | None = await collection.find_one({"_id": doc_id})
        return doc

    @staticmethod
    async def _compare_and_set(
        collection: Any, doc_id: str, version: int, changes: Document
    ) -> Document | None:
        """Apply `changes` only if the document is still at `version`; the new document or
        None when someone else changed it first."""
        doc: Document | None = await collection.find_one_and_update(
            {"_id": doc_id, "version": version},
            # `unpublished` travels with the change itself: until the event for this version
            # is staged, the document says so, and a crash in between is repaired from it.
            {"$set": {**changes, "version": version + 1, "unpublished": True}},
            return_document=ReturnDocument.AFTER,
        )
        return doc

    @staticmethod
    async def _page(
        collection: Any,
        status: list[str] | None,
        terms: list[str],
        when: Period,
        page: int,
        page_size: int,
        conversation_id: str | None = None,
    ) -> tuple[list[Document], int]:
        query: Document = {}
        if conversation_id:
            query["conversation_id"] = conversation_id
        if status:
            query["status"] = status[0] if len(status) == 1 else {"$in": status}
        created: Document = {}
        if when.start:
            created["$gte"] = when.start
        if when.end:
            created["$lt"] = when.end
        if created:
            query["created_at"] = created
        if terms:
            # Each term must prefix one key (a word of the name or the document number).
            query["$and"] = [{"search_keys": {"$regex": f"^{re.escape(term)}"}} for term in terms]
        total = await collection.count_documents(query)
        cursor = (
            collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", ASCENDING)])
            .skip((page - 1) * page_size)
            .limit(page_size)
        )
        items = [doc async for doc in cursor]
        return items, total

    # --- technical services ------------------------------------------------------------------

    async def insert_service(self, doc: Document) -> None:
        await self.services.insert_one({**doc, "unpublished": True})

    async def get_service(self, service_id: str) -> Document | None:
        return await self._get(self.services, service_id)

    async def get_service_by_number(self, number: str) -> Document | None:
        doc: Document | None = await self.services.find_one({"number": number})
        return doc

    async def update_service(
        self, service_id: str, version: int, changes: Document
    ) -> Document | None:
        return await self._compare_and_set(self.services, service_id, version, changes)

    async def list_services(
        self,
        status: list[str] | None,
        terms: list[str],
        when: Period,
        page: int,
        page_size: int,
        conversation_id: str | None = None,
    ) -> tuple[list[Document], int]:
        return await self._page(
            self.services, status, terms, when, page, page_size, conversation_id
        )

    async def claim_origin(self, origin: str, service_id: str, at: datetime) -> bool:
        """Take the origin for a new service; False when another service holds it."""
        try:
            await self.open_services.insert_one({"_id": origin, "service_id": service_id, "at": at})
        except DuplicateKeyError:
            return False
        return True

    async def origin_claim(self, origin: str) -> Document | None:
        return await self._get(self.open_services, origin)

    async def take_over_origin(self, origin: str, old: str, service_id: str, at: datetime) -> bool:
        """Move the origin from a service no longer open to a new one (compare-and-set)."""
        result = await self.open_services.update_one(
            {"_id": origin, "service_id": old}, {"$set": {"service_id": service_id, "at": at}}
        )
        return result.modified_count == 1

    async def release_origin(self, origin: str, service_id: str) -> None:
        await self.open_services.delete_one({"_id": origin, "service_id": service_id})

    async def reserve_idempotency_key(
        self, key: str, fingerprint: str, service_id: str, at: datetime
    ) -> Document | None:
        """Reserve the key for `service_id`; the earlier reservation when there is one."""
        try:
            await self.idempotency.insert_one(
                {"_id": key, "fingerprint": fingerprint, "service_id": service_id, "at": at}
            )
        except DuplicateKeyError:
            return await self._get(self.idempotency, key)
        return None

    async def release_idempotency_key(self, key: str, service_id: str) -> None:
        await self.idempotency.delete_one({"_id": key, "service_id": service_id})

    # --- anonymization -------------------------------------------------------------------------

    async def anonymize(self, customer_id: str | None, conversation_id: str | None) -> int:
        """Erase who the customer is from everything tickets keeps about them: services,
        sales calls, consultations and the conversation projection. Counts, statuses,
        numbers and dates stay (metrics are kept). Idempotent."""
        ors: list[Document] = []
        if customer_id:
            ors.append({"customer_id": customer_id})
        if conversation_id:
            ors.append({"conversation_id": conversation_id})
        if not ors:
            return 0
        who = {"customer_name": None, "document_number": None}
        changed = await self.services.update_many(
            {"$or": ors}, {"$set": {**who, "search_keys": []}}
        )
        await self.sales_calls.update_many({"$or": ors}, {"$set": {**who, "caller_number": None}})
        if customer_id:
            await self.consultations.update_many(
                {"customer_id": customer_id},
                {"$set": {"name": "", "document_number": None, "email": None, "phone": None,
                          "subject": ANONYMIZED, "text": ANONYMIZED, "search_keys": []},
                 # The sealed originals of what the customer typed go as well.
                 "$unset": {"sealed_subject": "", "sealed_text": ""}},
            )  # fmt: skip
            await self.conversations.update_many({"customer_id": customer_id}, {"$set": who})
        if conversation_id:
            await self.conversations.update_one({"_id": conversation_id}, {"$set": who})
        # The stored copies of the events already published (the outbox) say no more.
        outbox = self.db[Outbox.COLLECTION]
        for prefix in ("body.service", "body.sales_call"):
            copies = [{f"{prefix}.{field}": value} for field, value in _only(ors)]
            await outbox.update_many(
                {"$or": copies},
                {"$set": {f"{prefix}.customer_name": None, f"{prefix}.document_number": None}},
            )
        return changed.modified_count

    # --- consultations -----------------------------------------------------------------------

    async def insert_consultation(self, doc: Document) -> None:
        await self.consultations.insert_one({**doc, "unpublished": True})

    # --- publishing state --------------------------------------------------------------------

    @staticmethod
    async def mark_published(collection: Any, doc_id: str, version: int) -> None:
        """The event of `version` is staged; a newer change keeps the flag for its own."""
        await collection.update_one(
            {"_id": doc_id, "version": version}, {"$unset": {"unpublished": ""}}
        )

    @staticmethod
    async def unpublished(collection: Any, changed_before: datetime) -> list[Document]:
        """Documents changed before `changed_before` whose event was never staged."""
        cursor = collection.find(
            {"unpublished": True, "updated_at": {"$lte": changed_before}}
        ).limit(200)
        return [doc async for doc in cursor]

    async def get_consultation(self, consultation_id: str) -> Document | None:
        return await self._get(self.consultations, consultation_id)

    async def update_consultation(
        self, consultation_id: str, version: int, changes: Document
    ) -> Document | None:
        return await self._compare_and_set(self.consultations, consultation_id, version, changes)

    async def list_consultations(
        self, status: list[str] | None, terms: list[str], when: Period, page: int, page_size: int
    ) -> tuple[list[Document], int]:
        return await self._page(self.consultations, status, terms, when, page, page_size)

    # --- conversation projection -------------------------------------------------------------

    async def project_conversations(self, snapshots: dict[str, Document]) -> None:
        """`project_conversation` for a batch, in one command (older ones are ignored)."""
        if not snapshots:
            return
        ops = [
            UpdateOne({"_id": cid, "version": {"$lt": doc["version"]}}, {"$set": doc}, upsert=True)
            for cid, doc in snapshots.items()
        ]
        try:
            await self.conversations.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate _id: the stored snapshot is as new or newer.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    async def get_conversation(self, conversation_id: str) -> Document | None:
        return await self._get(self.conversations, conversation_id)

    async def get_conversation_by_call(self, call_sid: str) -> Document | None:
        doc: Document | None = await self.conversations.find_one(
            {"call.call_sid": call_sid}, sort=[("version", DESCENDING)]
        )
        return doc

    # --- sales calls -------------------------------------------------------------------------

    async def insert_sales_call(self, doc: Document) -> bool:
        try:
            await self.sales_calls.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_sales_call(self, call_sid: str) -> Document | None:
        return await self._get(self.sales_calls, call_sid)

    async def update_sales_call(
        self, call_sid: str, revision: int, changes: Document
    ) -> Document | None:
        doc: Document | None = await self.sales_calls.find_one_and_update(
            {"_id": call_sid, "revision": revision},
            {"$set": {**changes, "revision": revision + 1}},
            return_document=ReturnDocument.AFTER,
        )
        return doc


def _only(ors: list[Document]) -> list[tuple[str, Any]]:
    return [next(iter(condition.items())) for condition in ors]
