"""MongoDB side of the customers service: collections, indexes and compare-and-set writes.

Collections of the `customers` database:

- `customers`     profiles; `search_keys` / `match_keys` hold normalized terms (indexed)
- `identities`    `_id` = Identity.key: the unique index that makes one identity belong to
                  exactly one customer, even when first messages race; `contact_count`
                  counts the conversations it opened, and `recent` holds the ids of those it
                  counted last (a redelivery is not counted twice)
- `retired_identities`  what an anonymized customer's identities were, without the number:
                  channel, counts and dates (the key is free for a new customer)
- `tags`          the tag catalogue (`_id` = slug)
- `tag_history`   every add/remove with who, when and the evidence note
- `merges`        every merge with what it changed, so unmerge restores it exactly
- `comments`      append-only comments: on the customer (Resumen) or on one case
                  (`case_id` = a conversation id); only cancelling the case deletes them
- `cases`         a case's state (`_id` = its conversation id): `cancelled` once cancelled
- `audit`         who did what to which customer, when
- `settings`      admin-configured extra profile fields
- (each customer document carries its own staged events: shared/outbox.py EmbeddedOutbox)
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.customers import domain
from shared.contracts.base import new_id, utcnow
from shared.mongo import Document
from shared.outbox import insert_new, merge_updates, staging

# Contacts an identity remembers having counted: far more than a redelivery can lag behind.
RECENT_CONTACTS = 200


def new_profile(customer_id: str, now: datetime) -> Document:
    return {
        "_id": customer_id,
        "status": "active",
        "merged_into": None,
        "first_name": None,
        "last_name": None,
        "display_name": None,
        "company": None,
        "gender": None,
        "email": None,
        "mobile_phone": None,
        "home_phone": None,
        "document_number": None,
        "notes": None,
        "extra": {},
        "tags": [],
        "staff_edited": [],
        "search_keys": [],
        "match_keys": [],
        "absorbed_ids": [],
        "merge_stack": [],
        "anonymized": False,
        "created_at": now,
        "updated_at": now,
        "version": 0,
    }


def _retired_id(customer_id: str, identity_key: str) -> str:
    """The same id for the same retirement (repeatable), without the number in clear."""
    digest = hashlib.sha256(identity_key.encode("utf-8", "replace")).hexdigest()[:24]
    return f"{customer_id}:{digest}"


class CustomerStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.customers = db["customers"]
        self.identities = db["identities"]
        self.retired_identities = db["retired_identities"]
        self.tags = db["tags"]
        self.tag_history = db["tag_history"]
        self.merges = db["merges"]
        self.comments = db["comments"]
        self.cases = db["cases"]
        self.audit = db["audit"]
        self.conversation_links = db["conversation_links"]
        self.settings = db["settings"]

    async def ensure_indexes(self) -> None:
        await self.customers.create_index("search_keys")
        await self.customers.create_index("match_keys")
        await self.customers.create_index([("tags", ASCENDING), ("updated_at", DESCENDING)])
        await self.customers.create_index([("status", ASCENDING), ("updated_at", DESCENDING)])
        await self.identities.create_index("customer_id")
        await self.conversation_links.create_index("customer_id")
        await self.tag_history.create_index([("customer_id", ASCENDING), ("at", ASCENDING)])
        await self.comments.create_index([("customer_id", ASCENDING), ("at", ASCENDING)])
        await self.comments.create_index("case_id", sparse=True)
        await self.audit.create_index([("customer_id", ASCENDING), ("at", ASCENDING)])
        await self.merges.create_index("survivor_id")
        await self.merges.create_index("absorbed_id")

    async def seed_tags(self) -> None:
        now = utcnow()
        for slug, label in domain.SEED_TAGS:
            await self.tags.update_one(
                {"_id": slug},
                {
                    "$setOnInsert": {
                        "label": label,
                        "seed": True,
                        "created_by": "system",
                        "created_at": now,
                    }
                },
                upsert=True,
            )

    # -- identities and profiles --------------------------------------------------------------

    async def get(self, customer_id: str) -> Document | None:
        return await self.customers.find_one({"_id": customer_id})

    async def require(self, customer_id: str) -> Document:
        doc = await self.get(customer_id)
        if doc is None:
            raise domain.CustomerNotFound(f"no customer {customer_id!r}")
        return doc

    async def update(
        self,
        customer_id: str,
        update: Document,
        condition: Document | None = None,
        staged: list[Document] | None = None,
    ) -> Document | None:
        """Apply `update` (version +1, updated_at now) when `condition` holds; the new doc.
        `staged` events are written in the same update as the change they announce."""
        now = utcnow()
        update = merge_updates({k: dict(v) for k, v in update.items()}, staging(staged or [], now))
        update.setdefault("$inc", {})["version"] = 1
        update.setdefault("$set", {})["updated_at"] = now
        return await self.customers.find_one_and_update(
            {"_id": customer_id, **(condition or {})},
            update,
            return_document=ReturnDocument.AFTER,
        )

    async def identities_of(self, customer_id: str) -> list[Document]:
        cursor = self.identities.find({"customer_id": customer_id}).sort("first_seen_at", 1)
        return await cursor.to_list()

    async def get_identity(self, key: str) -> Document | None:
        return await self.identities.find_one({"_id": key})

    async def set_identity_blocked(self, key: str, blocked: bool) -> None:
        await self.identities.update_one({"_id": key}, {"$set": {"blocked": blocked}})

    async def move_identities(self, keys: Sequence[str], source: str, target: str) -> None:
        if keys:
            await self.identities.update_many(
                {"_id": {"$in": list(keys)}, "customer_id": source},
                {"$set": {"customer_id": target}},
            )

    async def refresh_keys(self, customer_id: str) -> Document | None:
        """Recompute the normalized search and match keys from profile and identities."""
        doc = await self.get(customer_id)
        if doc is None:
            return None
        if doc.get("anonymized"):
            search: list[str] = []
            matches: list[str] = []
        else:
            keys = [i["_id"] for i in await self.identities_of(customer_id)]
            search = domain.search_keys(doc, keys)
            matches = domain.match_keys(doc, keys)
        if search != doc.get("search_keys") or matches != doc.get("match_keys"):
            await self.customers.update_one(
                {"_id": customer_id}, {"$set": {"search_keys": search, "match_keys": matches}}
            )
            doc["search_keys"], doc["match_keys"] = search, matches
        return doc

    async def link_conversations(self, links: dict[str, str]) -> None:
        """Remember which customer each conversation belongs to (for the data export)."""
        if links:
            await self.conversation_links.bulk_write(
                [
                    UpdateOne({"_id": cid}, {"$set": {"customer_id": owner}}, upsert=True)
                    for cid, owner in links.items()
                ],
                ordered=False,
            )

    async def conversations_of(self, customer_ids: list[str]) -> list[str]:
        cursor = self.conversation_links.find({"customer_id": {"$in": customer_ids}}, {"_id": 1})
        return sorted([doc["_id"] async for doc in cursor])

    # -- batched identification ----------------------------------------------------------------

    async def identity_docs(self, identity_keys: list[str]) -> dict[str, Document]:
        """The identities' owners and the contacts counted last on each (`recent`)."""
        docs = await self.identities.find(
            {"_id": {"$in": identity_keys}}, {"customer_id": 1, "recent": 1}
        ).to_list(None)
        return {d["_id"]: d for d in docs}

    async def owners_of(self, identity_keys: list[str]) -> dict[str, str]:
        docs = await self.identities.find(
            {"_id": {"$in": identity_keys}}, {"customer_id": 1}
        ).to_list(None)
        return {d["_id"]: d["customer_id"] for d in docs}

    async def customers_by_id(self, customer_ids: list[str]) -> dict[str, Document]:
        if not customer_ids:
            return {}
        docs = await self.customers.find({"_id": {"$in": customer_ids}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def insert_identities(self, docs: list[Document]) -> None:
        # A concurrent first contact of the same identity derives the same customer id:
        # whoever inserts first wins and the other's insert is a harmless duplicate.
        await insert_new(self.identities, docs)

    async def insert_profiles(self, docs: list[Document]) -> None:
        await insert_new(self.customers, docs)

    async def apply_channel_updates(
        self, updates: dict[str, Document], staged: dict[str, list[Document]], now: datetime
    ) -> None:
        """What channels told about known customers, with the events that announce it, in one
        bulk write (each document's change and its staged events in the same update)."""
        ids = sorted(set(updates) | set(staged))
        if not ids:
            return
        ops = []
        for customer_id in ids:
            update = merge_updates(
                {"$set": {**updates.get(customer_id, {}), "updated_at": now}},
                {"$inc": {"version": 1}} if customer_id in updates else {},
                staging(staged.get(customer_id, []), now),
            )
            ops.append(UpdateOne({"_id": customer_id}, update))
        await self.customers.bulk_write(ops, ordered=False)

    async def count_contacts(self, counted: list[tuple[str, str]], now: datetime) -> set[str]:
        """Count each contact (a conversation opened) once, in one bulk write: the identity
        keeps the ids of the contacts it counted last (`recent`), and a contact already among
        them is not counted again (a redelivery). Returns the keys of identities that do not
        exist (yet)."""
        if not counted:
            return set()
        per_key: dict[str, list[str]] = {}
        for event_id, key in counted:
            per_key.setdefault(key, []).append(event_id)
        await self.identities.bulk_write(
            [
                UpdateOne(
                    {"_id": key, "recent": {"$nin": ids}},
                    {
                        "$inc": {"contact_count": len(ids)},
                        "$max": {"last_seen_at": now},
                        "$push": {"recent": {"$each": ids, "$slice": -RECENT_CONTACTS}},
                    },
                )
                for key, ids in per_key.items()
            ],
            ordered=False,
        )
        found = await self.identities.find({"_id": {"$in": list(per_key)}}, {"_id": 1}).to_list(
            None
        )
        return set(per_key) - {d["_id"] for d in found}

    async def refresh_keys_of(self, customer_ids: list[str]) -> None:
        for customer_id in customer_ids:
            await self.refresh_keys(customer_id)

    # -- search -------------------------------------------------------------------------------

    async def search(
        self, terms: Iterable[str], limit: int, offset: int, tag: str | None = None
    ) -> tuple[list[Document], int]:
        """Active customers whose search keys start with every term; with `tag`, only those
        carrying it (seed 000: tags group customers)."""
        query: Document = {"status": "active"}
        if tag:
            query["tags"] = tag
        clauses = [{"search_keys": {"$regex": "^" + re.escape(t)}} for t in terms]
        if clauses:
            query["$and"] = clauses
        total = await self.customers.count_documents(query)
        cursor = (
            self.customers.find(query)
            .sort([("updated_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), total

    async def sharing_match_keys(self, customer_id: str, keys: list[str]) -> list[Document]:
        if not keys:
            return []
        cursor = self.customers.find(
            {"match_keys": {"$in": keys}, "_id": {"$ne": customer_id}, "status": "active"}
        ).limit(50)
        return await cursor.to_list()

    # -- tags -----------------------------------------------------------------------------------

    async def catalogue(self) -> list[Document]:
        return await self.tags.find().sort("_id", 1).to_list()

    async def create_tag(self, slug: str, label: str, actor: str) -> Document:
        doc = {
            "_id": slug,
            "label": label,
            "seed": False,
            "created_by": actor,
            "created_at": utcnow(),
        }
        try:
            await self.tags.insert_one(doc)
        except DuplicateKeyError as exc:
            raise domain.TagExists(f"the tag {slug!r} already exists") from exc
        return doc

    async def record_tag_change(
        self, customer_id: str, tag: str, action: str, actor: str, note: str
    ) -> Document:
        doc = {
            "_id": new_id(),
            "customer_id": customer_id,
            "tag": tag,
            "action": action,
            "actor": actor,
            "note": note,
            "at": utcnow(),
        }
        await self.tag_history.insert_one(doc)
        return doc

    async def tag_history_of(self, customer_ids: list[str]) -> list[Document]:
        cursor = self.tag_history.find({"customer_id": {"$in": customer_ids}}).sort("at", 1)
        return await cursor.to_list()

    # -- merges ---------------------------------------------------------------------------------

    async def insert_merge(self, doc: Document) -> None:
        await self.merges.insert_one(doc)

    async def get_merge(self, merge_id: str) -> Document | None:
        return await self.merges.find_one({"_id": merge_id})

    async def mark_merge_undone(self, merge_id: str, actor: str, note: str | None) -> bool:
        result = await self.merges.update_one(
            {"_id": merge_id, "undone_at": None},
            {"$set": {"undone_at": utcnow(), "undone_by": actor, "undo_note": note}},
        )
        return result.modified_count == 1

    async def merges_of(self, customer_ids: list[str]) -> list[Document]:
        cursor = self.merges.find(
            {
                "$or": [
                    {"survivor_id": {"$in": customer_ids}},
                    {"absorbed_id": {"$in": customer_ids}},
                ]
            }
        ).sort("at", 1)
        return await cursor.to_list()

    # -- comments, audit, settings --------------------------------------------------------------

    async def add_comment(
        self, customer_id: str, author: str, text: str, case_id: str | None = None
    ) -> Document:
        doc: Document = {"_id": new_id(), "customer_id": customer_id, "author": author}
        doc.update(text=text, at=utcnow(), case_id=case_id)
        await self.comments.insert_one(doc)
        return doc

    async def is_linked(self, conversation_id: str, customer_ids: list[str]) -> bool:
        """Whether the conversation belongs to one of these customers (routing told us)."""
        found = await self.conversation_links.find_one(
            {"_id": conversation_id, "customer_id": {"$in": customer_ids}}, {"_id": 1}
        )
        return found is not None

    async def get_case(self, case_id: str) -> Document | None:
        return await self.cases.find_one({"_id": case_id})

    async def cases_of(self, case_ids: list[str]) -> dict[str, Document]:
        docs = await self.cases.find({"_id": {"$in": case_ids}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def cancel_case(
        self, case_id: str, customer_id: str, actor: str, note: str | None
    ) -> int:
        """Mark the case cancelled (once: the first cancellation's who and when stay), then
        delete its comments. Repeating it finishes what a crash left half done. How many
        comments were deleted."""
        with contextlib.suppress(DuplicateKeyError):  # cancelled already: keep the first
            await self.cases.update_one(
                {"_id": case_id, "status": {"$ne": "cancelled"}},
                {
                    "$set": {
                        "customer_id": customer_id,
                        "status": "cancelled",
                        "cancelled_by": actor,
                        "cancelled_at": utcnow(),
                        "note": note,
                    }
                },
                upsert=True,
            )
        result = await self.comments.delete_many({"case_id": case_id})
        return int(result.deleted_count)

    async def comments_of(self, customer_ids: list[str]) -> list[Document]:
        cursor = self.comments.find({"customer_id": {"$in": customer_ids}}).sort("at", 1)
        return await cursor.to_list()

    async def add_audit(
        self, customer_id: str, actor: str, action: str, detail: Document | None = None
    ) -> None:
        await self.audit.insert_one(
            {
                "_id": new_id(),
                "customer_id": customer_id,
                "actor": actor,
                "action": action,
                "detail": detail or {},
                "at": utcnow(),
            }
        )

    async def audit_of(self, customer_ids: list[str]) -> list[Document]:
        cursor = self.audit.find({"customer_id": {"$in": customer_ids}}).sort("at", 1)
        return await cursor.to_list()

    async def retire_identities(self, customer_ids: list[str], now: datetime) -> int:
        """Anonymization: the customers' identities stop mapping to them, so the next contact
        of those numbers starts a new customer. What stays (in `retired_identities`) is the
        channel, counts and dates, never the number. Crash-safe and repeatable: the record
        is upserted (its id derived from customer and key) before the identity is deleted,
        and only while the identity still belongs to that customer."""
        docs = await self.identities.find({"customer_id": {"$in": customer_ids}}).to_list(None)
        if not docs:
            return 0
        await self.retired_identities.bulk_write(
            [
                UpdateOne(
                    {"_id": _retired_id(d["customer_id"], d["_id"])},
                    {
                        "$setOnInsert": {
                            "customer_id": d["customer_id"],
                            "channel": d.get("channel"),
                            "contact_count": d.get("contact_count", 0),
                            "first_seen_at": d.get("first_seen_at"),
                            "last_seen_at": d.get("last_seen_at"),
                            "retired_at": now,
                        }
                    },
                    upsert=True,
                )
                for d in docs
            ],
            ordered=False,
        )
        result = await self.identities.delete_many(
            {"$or": [{"_id": d["_id"], "customer_id": d["customer_id"]} for d in docs]}
        )
        return int(result.deleted_count)

    async def erase_texts(self, customer_ids: list[str]) -> None:
        """Anonymization: comment texts, tag evidence and merge notes are personal data."""
        text = domain.ANONYMIZED_TEXT
        ids = {"$in": customer_ids}
        await self.comments.update_many({"customer_id": ids}, {"$set": {"text": text}})
        await self.tag_history.update_many({"customer_id": ids}, {"$set": {"note": text}})
        await self.cases.update_many({"customer_id": ids}, {"$set": {"note": text}})
        await self.merges.update_many(
            {"$or": [{"survivor_id": ids}, {"absorbed_id": ids}]},
            {"$set": {"note": text, "filled": {}, "notes_before": None, "notes_after": None}},
        )

    async def field_definitions(self) -> list[domain.ExtraField]:
        doc = await self.settings.find_one({"_id": "customer_fields"})
        return [domain.ExtraField(**f) for f in (doc or {}).get("fields", [])]

    async def save_field_definitions(self, fields: list[domain.ExtraField], actor: str) -> None:
        await self.settings.update_one(
            {"_id": "customer_fields"},
            {
                "$set": {
                    "fields": [{"key": f.key, "label": f.label, "type": f.type} for f in fields],
                    "updated_by": actor,
                    "updated_at": utcnow(),
                }
            },
            upsert=True,
        )

    def fields_payload(self, fields: list[domain.ExtraField]) -> list[dict[str, Any]]:
        return [{"key": f.key, "label": f.label, "type": f.type} for f in fields]
