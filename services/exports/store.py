"""MongoDB side of the exports read model: one document per table row, plus what the
model knows of each customer (to follow renames, merges and anonymization).

Collections of the `exports` database:
- `rows`: `_id` = `<table>:<key>`, the fields of `tables.Row.fields()`, `origin_customer_id`
  (the customer the source event named, to undo a merge) and `origin_name` /
  `origin_document` (what that source carried, shown again if the unmerged customer's own
  profile lacks them; blanked on anonymization).
- `customers`: `_id` = customer id, the last profile seen (`name`, `document_number`,
  `anonymized`, `version`, `phones`: E.164 digits of its phones and phone identities) and
  `merged_into` once absorbed by another customer. A call whose own customer has no name
  shows the name of the customer its phone belongs to (`named_by_phone` on the row).
- `call_services`: `_id` = `call:<sid>` or `conversation:<id>`, one per call or conversation
  a technical service came from (a call row then shows GENERÓ SERVICIO TÉCNICO, whichever
  of the call's and the service's events arrives first).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.exports.tables import (
    CALL_TABLES,
    CELL_FIELDS,
    GENERO_SERVICIO,
    SORT,
    CustomerFacts,
    Row,
    RowQuery,
    caller_fields,
    customer_fields,
    phone_digits,
)
from shared.mongo import Document

MAX_MERGE_HOPS = 8


class ExportsStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.rows = db["rows"]
        self.customers = db["customers"]
        self.call_services = db["call_services"]

    async def ensure_indexes(self) -> None:
        """Every listing filters by table and sorts by date; the default filter adds status.
        SecantusDB scans without an index, so each query shape has one."""
        await self.rows.create_index(
            [("table", ASCENDING), ("status", ASCENDING), ("date", DESCENDING)],
            name="table_status_date",
        )
        await self.rows.create_index(
            [("table", ASCENDING), ("date", DESCENDING), ("_id", ASCENDING)], name="table_date"
        )
        await self.rows.create_index([("customer_id", ASCENDING)], name="customer")
        await self.rows.create_index([("origin_customer_id", ASCENDING)], name="origin_customer")
        await self.rows.create_index([("conversation_id", ASCENDING)], name="conversation")
        await self.rows.create_index([("phone", ASCENDING)], name="phone")
        await self.customers.create_index([("phones", ASCENDING)], name="phones")

    # ----------------------------------------------------------------- writes

    async def upsert_rows(
        self,
        rows: list[tuple[Row, str | None]],
        sources: dict[str, tuple[str | None, str | None]] | None = None,
    ) -> set[str]:
        """`upsert_row` for a batch in one command: each row (with its origin customer and,
        when in `sources`, the name and document its source carried) written unless the
        stored one is as new or newer. Returns the ids of the rows written."""
        if not rows:
            return set()
        sources = sources or {}
        ops = []
        for row, origin in rows:
            fields = row.fields() | {"origin_customer_id": origin}
            if row.row_id in sources:
                name, document = sources[row.row_id]
                fields |= {"origin_name": name or "", "origin_document": document or ""}
            ops.append(
                UpdateOne(
                    {"_id": row.row_id, "version": {"$lt": row.version}},
                    {"$set": fields},
                    upsert=True,
                )
            )
        written = {row.row_id for row, _ in rows}
        try:
            await self.rows.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            # A duplicate _id is the "stored one is as new or newer" case.
            failures = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in failures):
                raise
            written -= {rows[e["index"]][0].row_id for e in failures}
        return written

    async def customers_of(self, customer_ids: set[str]) -> dict[str, CustomerFacts]:
        """`customer()` for many at once: one query, plus one per merge hop still open."""
        found: dict[str, CustomerFacts] = {}
        docs: dict[str, Document] = {}
        frontier = set(customer_ids)
        for _ in range(MAX_MERGE_HOPS):
            if not frontier:
                break
            async for doc in self.customers.find({"_id": {"$in": sorted(frontier)}}):
                docs[doc["_id"]] = doc
            frontier = {d["merged_into"] for d in docs.values() if d.get("merged_into")}
            frontier -= set(docs)
        for customer_id in customer_ids:
            current, seen = customer_id, set()
            while current in docs and current not in seen:
                seen.add(current)
                doc = docs[current]
                if doc.get("merged_into"):
                    current = doc["merged_into"]
                    continue
                if "version" in doc:
                    found[customer_id] = CustomerFacts(
                        customer_id=current,
                        name=doc.get("name"),
                        document_number=doc.get("document_number"),
                        anonymized=bool(doc.get("anonymized")),
                        version=int(doc.get("version", 0)),
                    )
                break
        return found

    async def set_row_customer(self, row_id: str, facts: CustomerFacts) -> None:
        await self.rows.update_one({"_id": row_id}, {"$set": customer_fields(facts)})

    async def save_customer(self, facts: CustomerFacts) -> bool:
        """Keep the profile unless a newer one is stored; True when this one now stands.

        Equal versions are applied again (harmless): a producer that never bumps the
        version still gets its renames through.
        """
        doc = {
            "name": facts.name,
            "document_number": facts.document_number,
            "anonymized": facts.anonymized,
            "version": facts.version,
            "phones": list(facts.phones),
        }
        try:
            await self.customers.update_one(
                {
                    "_id": facts.customer_id,
                    # Known only as a merge target so far: no version yet.
                    "$or": [{"version": {"$lte": facts.version}}, {"version": {"$exists": False}}],
                },
                {"$set": doc},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_merged(self, absorbed_id: str, survivor_id: str | None) -> None:
        await self.customers.update_one(
            {"_id": absorbed_id}, {"$set": {"merged_into": survivor_id}}, upsert=True
        )

    async def apply_customer_to_rows(self, customer_id: str, facts: CustomerFacts) -> int:
        """Rows currently shown under `customer_id` take the profile (and its id)."""
        result = await self.rows.update_many(
            {"customer_id": customer_id}, {"$set": customer_fields(facts)}
        )
        return result.modified_count

    async def restore_origin_rows(self, absorbed_id: str, facts: CustomerFacts | None) -> int:
        """Undo a merge: rows whose source named `absorbed_id` go back to it, with its own
        name and document: its profile's, or else what the row's source event carried
        (never the survivor's)."""
        restored = 0
        cursor = self.rows.find(
            {"origin_customer_id": absorbed_id}, {"origin_name": 1, "origin_document": 1}
        )
        async for doc in cursor:
            own = CustomerFacts(
                customer_id=absorbed_id,
                name=(facts.name if facts else None) or doc.get("origin_name") or None,
                document_number=(facts.document_number if facts else None)
                or doc.get("origin_document")
                or None,
                anonymized=bool(facts and facts.anonymized),
                version=facts.version if facts else 0,
            )
            fields = customer_fields(own)
            if not own.anonymized:
                # Exactly the absorbed customer's: a value it lacks is blank, not the survivor's.
                fields.setdefault("customer_name", own.name or "")
                fields.setdefault("search_name", "")
                fields.setdefault("document_number", own.document_number or "")
                fields.setdefault("search_document", "")
            await self.rows.update_one({"_id": doc["_id"]}, {"$set": fields})
            restored += 1
        return restored

    async def note_call_service(self, call_sid: str | None, conversation_id: str | None) -> int:
        """Remember that a service came from this call/conversation and mark its call rows."""
        keys = _service_keys(call_sid, conversation_id)
        if not keys:
            return 0
        for key in keys:
            await self.call_services.update_one({"_id": key}, {"$set": {"at": key}}, upsert=True)
        links: list[Document] = []
        if call_sid:
            links.append({"_id": f"llamadas:{call_sid}"})
        if conversation_id:
            links.append({"conversation_id": conversation_id})
        result = await self.rows.update_many(
            {"table": "llamadas", "$or": links}, {"$set": {"status": GENERO_SERVICIO}}
        )
        return result.modified_count

    async def calls_with_service(self, rows: list[Row]) -> set[str]:
        """The ids of those call rows from which a technical service came."""
        if not rows:
            return set()
        by_key = {
            key: row.row_id for row in rows for key in _service_keys(row.key, row.conversation_id)
        }
        cursor = self.call_services.find({"_id": {"$in": sorted(by_key)}}, {"_id": 1})
        return {by_key[doc["_id"]] async for doc in cursor}

    async def set_row_status(self, row_id: str, status: str) -> None:
        await self.rows.update_one({"_id": row_id}, {"$set": {"status": status}})

    async def name_calls_by_phone(self, facts: CustomerFacts) -> int:
        """Call rows from one of the customer's phones whose own customer left them nameless
        (or that this customer named before) take its name and document; when the customer
        has no name any more (anonymized, merged away), the rows it named go blank again."""
        named = {"named_by_phone": facts.customer_id}
        if facts.anonymized or not facts.name or not facts.phones:
            blank = {"customer_name": "", "search_name": "", "document_number": ""}
            result = await self.rows.update_many(
                named, {"$set": blank | {"search_document": "", "named_by_phone": None}}
            )
            return result.modified_count
        result = await self.rows.update_many(
            {
                "table": {"$in": sorted(CALL_TABLES)},
                "phone": {"$in": ["+" + p for p in facts.phones]},
                "$or": [{"customer_name": ""}, named],
            },
            {"$set": caller_fields(facts)},
        )
        return result.modified_count

    async def name_rows_by_phone(self, rows: list[Row]) -> None:
        """Nameless call rows just written take the name of the customer their phone
        belongs to (the newest named, active customer with that phone), if any."""
        wanted = {phone_digits(r.phone): r for r in rows if not r.customer_name}
        wanted.pop("", None)
        if not wanted:
            return
        owners: dict[str, CustomerFacts] = {}
        cursor = self.customers.find(
            {
                "phones": {"$in": sorted(wanted)},
                "anonymized": {"$ne": True},
                "merged_into": {"$in": [None]},
                "name": {"$nin": [None, ""]},
            }
        ).sort([("version", DESCENDING), ("_id", ASCENDING)])
        async for doc in cursor:
            for phone in doc.get("phones") or []:
                if phone in wanted and phone not in owners:
                    owners[phone] = CustomerFacts(
                        customer_id=doc["_id"],
                        name=doc.get("name"),
                        document_number=doc.get("document_number"),
                        anonymized=False,
                        version=int(doc.get("version", 0)),
                    )
        for phone, facts in owners.items():
            row = wanted[phone]
            await self.rows.update_one(
                {"_id": row.row_id, "customer_name": ""}, {"$set": caller_fields(facts)}
            )

    # ----------------------------------------------------------------- reads

    async def row_origins(self, row_ids: list[str]) -> dict[str, str | None]:
        """The customer each stored row's source named, by row id (rows not stored yet are
        absent)."""
        cursor = self.rows.find({"_id": {"$in": row_ids}}, {"origin_customer_id": 1})
        return {doc["_id"]: doc.get("origin_customer_id") async for doc in cursor}

    async def customer(self, customer_id: str | None) -> CustomerFacts | None:
        """The profile rows of `customer_id` show, following merges to the survivor."""
        seen: set[str] = set()
        current = customer_id
        while current and current not in seen and len(seen) < MAX_MERGE_HOPS:
            seen.add(current)
            doc = await self.customers.find_one({"_id": current})
            if doc is None:
                return None
            if doc.get("merged_into"):
                current = doc["merged_into"]
                continue
            if "version" not in doc:
                return None  # known only as a merge target so far
            return CustomerFacts(
                customer_id=current,
                name=doc.get("name"),
                document_number=doc.get("document_number"),
                anonymized=bool(doc.get("anonymized")),
                version=int(doc.get("version", 0)),
            )
        return None

    async def own_profile(self, customer_id: str) -> CustomerFacts | None:
        """The customer's own stored profile, ignoring any merge."""
        doc = await self.customers.find_one({"_id": customer_id})
        if doc is None or "version" not in doc:
            return None
        return CustomerFacts(
            customer_id=customer_id,
            name=doc.get("name"),
            document_number=doc.get("document_number"),
            anonymized=bool(doc.get("anonymized")),
            version=int(doc.get("version", 0)),
        )

    async def page(self, selected: RowQuery, skip: int, limit: int) -> tuple[list[Document], int]:
        query = mongo_filter(selected)
        total = await self.rows.count_documents(query)
        cursor = self.rows.find(query, CELL_FIELDS).sort(SORT).skip(skip).limit(limit)
        return [doc async for doc in cursor], total

    async def stream(self, selected: RowQuery, batch_size: int = 1000) -> AsyncIterator[Document]:
        """Every matching row in screen order, fetched in batches: memory stays bounded."""
        cursor = (
            self.rows.find(mongo_filter(selected), CELL_FIELDS).sort(SORT).batch_size(batch_size)
        )
        try:
            async for doc in cursor:
                yield doc
        finally:
            await cursor.close()

    async def count(self, selected: RowQuery) -> int:
        return await self.rows.count_documents(mongo_filter(selected))

    async def insert_many_rows(self, docs: list[Document]) -> None:
        """Bulk load (benchmark, back-fill); the caller builds the documents from rows."""
        await self.rows.insert_many(docs, ordered=False)


def mongo_filter(selected: RowQuery) -> dict[str, Any]:
    """The MongoDB filter selecting these rows of a table."""
    query: dict[str, Any] = {"table": selected.table}
    statuses = selected.statuses
    if statuses is not None:
        query["status"] = statuses[0] if len(statuses) == 1 else {"$in": statuses}
    span: dict[str, Any] = {}
    if selected.since is not None:
        span["$gte"] = selected.since
    if selected.before is not None:
        span["$lt"] = selected.before
    if span:
        query["date"] = span
    if selected.terms:
        # Every word must appear, in the name or the document, in any order:
        # "martinez juan" finds "Juan Martínez".
        query["$and"] = [
            {
                "$or": [
                    {"search_name": {"$regex": re.escape(term)}},
                    {"search_document": {"$regex": re.escape(term)}},
                ]
            }
            for term in selected.terms
        ]
    return query


def _service_keys(call_sid: str | None, conversation_id: str | None) -> list[str]:
    keys = [f"call:{call_sid}"] if call_sid else []
    return keys + ([f"conversation:{conversation_id}"] if conversation_id else [])
