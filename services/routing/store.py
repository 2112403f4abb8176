"""MongoDB storage of the routing service: conversations and what hangs off them.

Collections (database `routing`):
- `conversations`: one document per conversation; `version` grows with every change and
  guards compare-and-set updates.
  While open it carries `open_identity` (the identity key) under a unique sparse index: ONE
  open conversation per customer and channel, whoever writes. It also carries its own
  pending effects (`outbox`: messages, audit entries and notes to insert, events to
  publish), written in the same document write as the change (shared/outbox.py).
- `messages`: `_id` = inbound event id or our outbound message id; `seq` is the order in
  which the conversation applied them.
- `events`: the audit trail (who, what, when, note). `notes`: internal notes.
- `identities` / `customers`: projection of the customers service's events.
- `blocked_messages`: what a blocked identity wrote (recorded, never answered).
- `quick_replies`: saved replies; `owner` = `team` or the person (`agent:luis`), the name
  unique per owner (services/routing/quick_replies.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.routing.domain import stream_rank
from services.routing.quick_replies import QuickReplyExists
from services.routing.timeline import Draft
from shared.bus import Bus
from shared.contracts import ConversationEvent, OutboundMessage
from shared.contracts.base import utcnow
from shared.mongo import Document
from shared.outbox import (
    OUTBOX_FIELD,
    PENDING_FIELD,
    EmbeddedOutbox,
    event_entry,
    insert_entry,
    insert_new,
    merge_updates,
    pack,
    restaging,
    staged_document,
    staging,
)

# Fields a draft never writes with $set: the staged effects are pushed, not replaced.
_NOT_SET = {"_id", OUTBOX_FIELD, PENDING_FIELD}


class ChangingTooFast(RuntimeError):
    """Other writers kept winning the compare-and-set."""


class Store:
    def __init__(self, db: AsyncDatabase[Document], bus: Bus) -> None:
        self.db = db
        self.conversations = db["conversations"]
        self.effects = EmbeddedOutbox(
            self.conversations,
            bus,
            {"ConversationEvent": ConversationEvent, "OutboundMessage": OutboundMessage},
            name="routing-outbox",
            # Written per message: carried-out effects are dropped by the next commit.
            unstage_after=timedelta(seconds=10),
            orphaned_after=timedelta(seconds=20),
        )
        self.messages = db["messages"]
        self.events = db["events"]
        self.notes = db["notes"]
        self.identities = db["identities"]
        self.customers = db["customers"]
        self.blocked_messages = db["blocked_messages"]
        self.quick_replies = db["quick_replies"]
        self.presence = db["presence"]

    async def ensure_indexes(self) -> None:
        c = self.conversations
        await c.create_index("open_identity", unique=True, sparse=True)
        await self.effects.ensure_indexes()
        # Every message moves `last_activity_at`: an index holding it is rewritten on every
        # append, so only one does (listings by status, newest first). The others key on
        # what changes with staff actions only.
        await c.create_index([("status", ASCENDING), ("last_activity_at", DESCENDING)])
        await c.create_index([("holder_kind", ASCENDING), ("status", ASCENDING)])
        await c.create_index([("holder", ASCENDING), ("status", ASCENDING)])
        await c.create_index([("identity_key", ASCENDING)])
        await c.create_index([("customer_id", ASCENDING)])
        # Present only while a first response is awaited (services/routing/first_response.py).
        await c.create_index("first_response_pending", sparse=True)
        # A customer's recent closes: is their next message the satisfaction answer?
        await c.create_index([("identity_key", ASCENDING), ("closed_at", DESCENDING)])
        await self.messages.create_index([("conversation_id", ASCENDING), ("seq", ASCENDING)])
        await self.messages.create_index([("external_message_id", ASCENDING)])
        await self.messages.create_index([("identity_key", ASCENDING), ("at", ASCENDING)])
        await self.events.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)])
        await self.notes.create_index([("conversation_id", ASCENDING), ("at", ASCENDING)])
        await self.identities.create_index([("customer_id", ASCENDING)])
        await self.blocked_messages.create_index([("identity_key", ASCENDING)])
        await self.customers.create_index([("tags", ASCENDING)])
        await self.quick_replies.create_index(
            [("owner", ASCENDING), ("name", ASCENDING)], unique=True
        )
        await self.presence.create_index("forget_at", expireAfterSeconds=0)

    # --- conversations ---------------------------------------------------------------

    async def get(self, conversation_id: str) -> Document | None:
        return await self.conversations.find_one({"_id": conversation_id})

    async def get_many(self, conversation_ids: list[str]) -> dict[str, Document]:
        if not conversation_ids:
            return {}
        docs = await self.conversations.find({"_id": {"$in": conversation_ids}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def conversations_of(
        self,
        identity_keys: list[str],
        customer_ids: list[str],
        identities_owned_by: list[str | None] | None = None,
    ) -> list[Document]:
        """Conversations of these identities (only those whose customer is among
        `identities_owned_by`, when given) or under these customer ids."""
        ors: list[Document] = []
        if identity_keys:
            by_identity: Document = {"identity_key": {"$in": identity_keys}}
            if identities_owned_by is not None:
                by_identity["customer_id"] = {"$in": identities_owned_by}
            ors.append(by_identity)
        if customer_ids:
            ors.append({"customer_id": {"$in": customer_ids}})
        if not ors:
            return []
        return await self.conversations.find({"$or": ors}).to_list(None)

    async def open_conversations(self, identity_keys: list[str]) -> dict[str, Document]:
        """The open conversation of each identity that has one (one query for a batch)."""
        if not identity_keys:
            return {}
        docs = await self.conversations.find({"open_identity": {"$in": identity_keys}}).to_list(
            None
        )
        return {d["open_identity"]: d for d in docs}

    async def closed_since(self, identity_keys: list[str], since: datetime) -> list[Document]:
        """Conversations of these identities closed after `since` (one query for a batch)."""
        if not identity_keys:
            return []
        return await self.conversations.find(
            {"identity_key": {"$in": identity_keys}, "closed_at": {"$gt": since}}
        ).to_list(None)

    async def first_responses_due(self, now: datetime, limit: int) -> list[Document]:
        """Open conversations still awaiting their first person reply past its due time."""
        cursor = (
            self.conversations.find({"first_response_pending": {"$lte": now}})
            .sort("first_response_pending", ASCENDING)
            .limit(limit)
        )
        return await cursor.to_list(None)

    async def commit(self, drafts: list[Draft], flush: bool = True) -> list[Draft]:
        """Write every changed draft — the conversation's new state and its staged effects —
        in one bulk command, each guarded by the version it was decided on (new ones by the
        unique open slot). Returns the drafts that lost the race: decide them again.
        Effects of the written drafts are then carried out (see `flush`), unless the caller
        asks to do that itself."""
        now = utcnow()
        ops: list[InsertOne[Document] | UpdateOne] = []
        pending = [d for d in drafts if d.changed]
        for draft in pending:
            draft.doc["version"] = (draft.base_version or 0) + 1
            draft.staged = self._entries(draft)
            if draft.base_version is None:
                ops.append(InsertOne(staged_document(draft.doc, draft.staged, now)))
                continue
            sets = {k: v for k, v in draft.doc.items() if k not in _NOT_SET}
            # Effects of the version this draft was decided on, carried out already, are
            # replaced in this write rather than unstaged by a write of their own.
            if self.effects.carried_out(draft.id, draft.base_version):
                update = merge_updates({"$set": sets}, restaging(draft.staged, now))
            else:
                update = merge_updates({"$set": sets}, staging(draft.staged, now))
            if draft.unset:
                update = merge_updates(update, {"$unset": {k: "" for k in draft.unset}})
            ops.append(UpdateOne({"_id": draft.id, "version": draft.base_version}, update))
        if not ops:
            return []
        failed_inserts: set[int] = set()
        try:
            result = await self.conversations.bulk_write(ops, ordered=False)
            matched = result.matched_count
        except BulkWriteError as exc:
            for err in exc.details.get("writeErrors", []):
                if err.get("code") != 11000:
                    raise
                failed_inserts.add(int(err["index"]))  # the open slot is taken: reload
            matched = int(exc.details.get("nMatched", 0))
        lost = [pending[i] for i in failed_inserts]
        updates = [d for d in pending if d.base_version is not None]
        if matched != len(updates):
            # bulk_write reports totals only. A draft was written iff its staged entries are
            # in the document (only this call unstages them, after this check).
            docs = await self.conversations.find(
                {"_id": {"$in": [d.id for d in updates]}}, {"version": 1, OUTBOX_FIELD: 1}
            ).to_list(None)
            found = {d["_id"]: {bytes(b) for b in d.get(OUTBOX_FIELD) or []} for d in docs}
            lost += [
                d for d in updates if bytes(pack(d.staged[:1])[0]) not in found.get(d.id, set())
            ]
        written = [d for d in pending if d not in lost]
        for draft in lost:
            draft.doc["version"] = draft.base_version or 0
        if flush:
            await self.flush(written)
        return lost

    def _entries(self, draft: Draft) -> list[Document]:
        # Inserted in this order: once its messages are visible, a change is all there.
        entries = [insert_entry("events", a) for a in draft.audit]
        entries += [insert_entry("notes", n) for n in draft.notes]
        entries += [insert_entry("messages", m) for m in draft.messages]
        entries += [event_entry(e) for e in draft.events()]
        return entries

    async def change(
        self,
        docs: list[Document],
        change: Callable[[Draft], bool],
        *,
        rounds: int,
        flush: bool = True,
    ) -> list[Draft]:
        """Apply `change` to each of these conversations (it returns whether it changed
        it), commit them together, and decide again, on a fresh read, those that another
        writer changed meanwhile. The written drafts; `ChangingTooFast` when some still
        lose after `rounds` tries."""
        written: list[Draft] = []
        for _ in range(rounds):
            drafts = [d for d in (Draft.of(doc) for doc in docs) if change(d)]
            lost = await self.commit(drafts, flush=flush)
            written += [d for d in drafts if d not in lost]
            if not lost:
                return written
            docs = list((await self.get_many([d.id for d in lost])).values())
        raise ChangingTooFast("conversations kept changing while a change was applied")

    async def flush(self, drafts: list[Draft]) -> None:
        """Carry out the effects of written drafts: inserts, then publishes, then unstage.
        If the broker refuses, the effects stay staged and the caller fails (its cause is
        redelivered, or the relay publishes them)."""
        staged = {d.id: (d.doc, d.staged) for d in drafts if d.staged}
        if staged and not await self.effects.flush(staged):
            raise RuntimeError("events staged but not published: the broker refused them")

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

    async def count_by_kind_and_status(self, statuses: list[str]) -> dict[tuple[str, str], int]:
        """Conversations in these statuses by holder kind and status. Read through the
        status index: closed conversations, the bulk of the collection, are left out unless
        asked for (a gauge refreshed every few seconds must not scan the whole history)."""
        cursor = await self.conversations.aggregate(
            [
                {"$match": {"status": {"$in": statuses}}},
                {"$group": {"_id": {"k": "$holder_kind", "s": "$status"}, "n": {"$sum": 1}}},
            ]
        )
        return {(d["_id"]["k"], d["_id"]["s"]): int(d["n"]) async for d in cursor}

    # --- messages, events, notes -------------------------------------------------------

    async def existing_messages(self, message_ids: list[str]) -> set[str]:
        """Which of these messages are stored already (a redelivery: applied before)."""
        if not message_ids:
            return set()
        docs = await self.messages.find({"_id": {"$in": message_ids}}, {"_id": 1}).to_list(None)
        return {d["_id"] for d in docs}

    async def get_message(self, conversation_id: str, message_id: str) -> Document | None:
        return await self.messages.find_one({"_id": message_id, "conversation_id": conversation_id})

    async def messages_of(self, conversation_id: str) -> list[Document]:
        cursor = self.messages.find({"conversation_id": conversation_id}).sort([("seq", ASCENDING)])
        return [d async for d in cursor]

    async def record_event(self, doc: Document) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.events.insert_one(doc)

    async def events_of(self, conversation_id: str) -> list[Document]:
        cursor = self.events.find({"conversation_id": conversation_id}).sort("at", ASCENDING)
        return [d async for d in cursor]

    async def notes_of(self, conversation_id: str) -> list[Document]:
        cursor = self.notes.find({"conversation_id": conversation_id}).sort("at", ASCENDING)
        return [d async for d in cursor]

    async def record_send_outcomes(
        self, outcomes: list[tuple[str | None, str, str | None, str | None, str | None]]
    ) -> list[tuple[Document, str | None]]:
        """The gateway's reports on messages we sent: (our message id, state, provider id,
        reason, code). The provider's id is kept (status webhooks match on it) and the state
        moves forward; returns the messages that became `failed` now, with the reason."""
        now = utcnow()
        ops: list[UpdateOne] = []
        failures: list[tuple[str, str | None, str | None]] = []
        for message_id, state, external_id, reason, code in outcomes:
            if not message_id:
                continue
            if external_id:
                ops.append(
                    UpdateOne(
                        {"_id": message_id, "direction": "outbound"},
                        {"$set": {"external_message_id": external_id}},
                    )
                )
            if state == "failed":
                failures.append((message_id, reason, code))
                continue
            ops.append(
                UpdateOne(
                    {
                        "_id": message_id,
                        "direction": "outbound",
                        "delivery": {"$in": [None, "pending"]},
                    },
                    {"$set": {"delivery": state, "delivery_at": now}},
                )
            )
        if ops:
            await self.messages.bulk_write(ops, ordered=True)
        failed: list[tuple[Document, str | None]] = []
        for message_id, reason, code in failures:  # rare: one by one, to know which applied
            result = await self.messages.update_one(
                {
                    "_id": message_id,
                    "direction": "outbound",
                    "delivery": {"$in": [None, "pending", "sent"]},
                },
                {
                    "$set": {
                        "delivery": "failed",
                        "delivery_at": now,
                        "delivery_error": reason,
                        "delivery_error_code": code,
                    }
                },
            )
            if result.modified_count:
                doc = await self.messages.find_one({"_id": message_id})
                if doc is not None:
                    failed.append((doc, reason))
        return failed

    async def set_deliveries(
        self,
        receipts: list[tuple[str | None, str, datetime | None, str, list[str | None], str | None]],
    ) -> int:
        """Move outbound messages' delivery state forward, for a batch of receipts in one
        command: (provider message id or None, identity key, watermark or None, new state,
        states it may move from, failure reason)."""
        if not receipts:
            return 0
        ops = []
        now = utcnow()
        for external_id, identity_key, until, state, allowed, reason in receipts:
            target: Document
            if external_id:
                target = {
                    "$or": [{"_id": external_id}, {"external_message_id": external_id}],
                }
            else:
                target = {"identity_key": identity_key, "at": {"$lte": until}}
            sets: Document = {"delivery": state, "delivery_at": now}
            if reason:
                sets["delivery_error"] = reason
            ops.append(
                UpdateMany(
                    {**target, "direction": "outbound", "delivery": {"$in": allowed}},
                    {"$set": sets},
                )
            )
        result = await self.messages.bulk_write(ops, ordered=True)
        return int(result.modified_count)

    async def revise_message(
        self,
        identity_key: str,
        external_id: str,
        event_id: str,
        kind: str,
        at: datetime,
        text: str,
        sealed: str | None,
    ) -> bool:
        """A customer's edit or deletion of a message they sent (services/routing/
        revisions.py): one update of that message, applied once per revision event, an edit
        only when newer than the one shown and never after a deletion. The text and seal
        shown until now move to `revisions`; user text goes in as `$literal` (it may start
        with '$'). False when nothing matched (unknown original, a redelivery, older edit)."""
        target: Document = {
            "identity_key": identity_key,
            "external_message_id": external_id,
            "direction": "inbound",
            "revisions.event_id": {"$ne": event_id},
            "revoked_at": None,
        }
        if kind == "edit":
            target["$or"] = [{"edited_at": None}, {"edited_at": {"$lt": at}}]
        before = {
            "kind": kind,
            "event_id": event_id,
            "at": at,
            "text": "$text",
            "sealed": "$sealed",
        }
        sets: Document = {
            "revisions": {"$concatArrays": [{"$ifNull": ["$revisions", []]}, [before]]},
            "text": {"$literal": text},
            "sealed": {"$literal": sealed},
            "revoked_at" if kind == "revoke" else "edited_at": at,
        }
        result = await self.messages.update_one(target, [{"$set": sets}])
        return bool(result.modified_count)

    # --- presence ------------------------------------------------------------------------

    async def beat(self, user: str, role: str, at: datetime, forget_at: datetime) -> None:
        """The person's console is open now (one upsert, whichever replica receives it)."""
        await self.presence.update_one(
            {"_id": user},
            {"$set": {"role": role, "last_beat_at": at, "forget_at": forget_at}},
            upsert=True,
        )

    async def team(self, roles: list[str], since: datetime) -> list[Document]:
        """People of these roles who beat since `since`."""
        cursor = self.presence.find({"role": {"$in": roles}, "last_beat_at": {"$gte": since}})
        return [d async for d in cursor]

    # --- customers projection ------------------------------------------------------------

    async def identities_of(self, identity_keys: list[str]) -> dict[str, Document]:
        if not identity_keys:
            return {}
        docs = await self.identities.find({"_id": {"$in": identity_keys}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def project_customer(self, customer_id: str, fields: Document, version: int) -> bool:
        """Store the customer's snapshot unless a newer one is stored (False then): the
        version is in the filter, so two replicas racing cannot let an older one win. The
        same version again (a redelivery) is True: what follows it is idempotent."""
        try:
            result = await self.customers.update_one(
                {"_id": customer_id, "version": {"$lte": version}},
                {"$set": {**fields, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the stored one is as new or newer
        return bool(result.matched_count or result.upserted_id is not None)

    async def project_identities(self, identities: dict[str, Document]) -> None:
        if identities:
            await self.identities.bulk_write(
                [
                    UpdateOne({"_id": key}, {"$set": fields}, upsert=True)
                    for key, fields in identities.items()
                ],
                ordered=False,
            )

    async def erase_texts(
        self, conversation_ids: list[str], identity_keys: list[str], marker: str
    ) -> None:
        """Anonymization: what the customer wrote, and every audit text, is erased."""
        if conversation_ids:
            await self.messages.update_many(
                {"conversation_id": {"$in": conversation_ids}, "direction": "inbound"},
                {"$set": {"text": marker}, "$unset": {"sealed": ""}},
            )
            await self.events.update_many(
                {"conversation_id": {"$in": conversation_ids}, "text": {"$ne": None}},
                {"$set": {"text": marker}},
            )
        if identity_keys:
            await self.blocked_messages.update_many(
                {"identity_key": {"$in": identity_keys}}, {"$set": {"text": marker}}
            )

    async def record_blocked(self, docs: list[Document]) -> None:
        await insert_new(self.blocked_messages, docs)

    async def customer(self, customer_id: str) -> Document | None:
        return await self.customers.find_one({"_id": customer_id})

    async def customers_tagged(self, tag: str) -> list[str]:
        """Ids of the customers whose projected snapshot carries `tag`."""
        cursor = self.customers.find({"tags": tag}, {"_id": 1})
        return [d["_id"] async for d in cursor]

    async def messages_of_customer(
        self, customer_id: str, author: str | None, limit: int
    ) -> list[Document]:
        """The customer's latest `limit` messages over all its conversations (only
        `author`'s when given), oldest first, each with its conversation's channel."""
        conversations = await self.conversations.find(
            {"customer_id": customer_id}, {"channel": 1}
        ).to_list(None)
        channels = {c["_id"]: c["channel"] for c in conversations}
        if not channels:
            return []
        query: Document = {"conversation_id": {"$in": list(channels)}}
        if author:
            query["author"] = author
        cursor = self.messages.find(query).sort([("at", DESCENDING), ("seq", DESCENDING)])
        docs = await cursor.limit(limit).to_list(None)
        for doc in docs:
            doc["channel"] = channels.get(doc["conversation_id"])
        return docs[::-1]

    # --- quick replies -------------------------------------------------------------------

    async def quick_replies_of(self, owners: list[str]) -> list[Document]:
        cursor = self.quick_replies.find({"owner": {"$in": owners}}).sort(
            [("name", ASCENDING), ("owner", ASCENDING)]
        )
        return await cursor.to_list(None)

    async def quick_reply(self, reply_id: str) -> Document | None:
        return await self.quick_replies.find_one({"_id": reply_id})

    async def insert_quick_reply(self, reply: Document) -> None:
        try:
            await self.quick_replies.insert_one(reply)
        except DuplicateKeyError as exc:
            raise QuickReplyExists(f"a quick reply named {reply['name']!r} exists") from exc

    async def update_quick_reply(self, reply_id: str, changes: Document) -> Document | None:
        try:
            return await self.quick_replies.find_one_and_update(
                {"_id": reply_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError as exc:
            raise QuickReplyExists(f"a quick reply named {changes.get('name')!r} exists") from exc

    async def delete_quick_reply(self, reply_id: str) -> None:
        await self.quick_replies.delete_one({"_id": reply_id})


class HoldTimerStore:
    """The `hold_timers` collection (services/routing/holds.py decides what goes in it).

    One document per conversation waiting on its holder:
    `{_id: conversation_id, holder, waiting_since, due_at, reminders_sent, last_message_at}`,
    indexed on `due_at`. Every write about a message is guarded by `last_message_at`: a
    message older than the last one seen for the conversation (a redelivery out of order)
    changes nothing.
    """

    COLLECTION = "hold_timers"

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[self.COLLECTION]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("due_at", ASCENDING)], name="due_at")

    async def get(self, conversation_id: str) -> Document | None:
        return await self.collection.find_one({"_id": conversation_id})

    async def waiting(self, conversation_id: str) -> Document | None:
        """The conversation's timer while it is armed."""
        return await self.collection.find_one({"_id": conversation_id, "due_at": {"$exists": True}})

    async def arm(
        self, conversation_id: str, holder: str, at: datetime, due_at: datetime, *, new_wait: bool
    ) -> None:
        """Arm (or refresh) the timer to fire at `due_at`. A new wait starts at `at` with no
        reminders sent; otherwise the wait keeps its start and count."""
        update: Document = {
            "$set": {"holder": holder, "due_at": due_at, "last_message_at": at},
            "$setOnInsert": {"reminders_sent": 0},
        }
        if new_wait:
            update["$set"]["waiting_since"] = at
            update["$set"]["reminders_sent"] = 0
            del update["$setOnInsert"]
        await self._upsert_if_newer(conversation_id, at, update)

    async def disarm(self, conversation_id: str, holder: str, at: datetime) -> None:
        """The wait is over: the timer stays, unarmed, remembering the holder's last message."""
        await self._upsert_if_newer(
            conversation_id,
            at,
            {
                "$set": {"holder": holder, "last_message_at": at},
                "$unset": {"due_at": "", "waiting_since": ""},
            },
        )

    async def _upsert_if_newer(self, conversation_id: str, at: datetime, update: Document) -> None:
        newer = {"_id": conversation_id, "last_message_at": {"$lte": at}}
        try:
            await self.collection.update_one(newer, update, upsert=True)
        except DuplicateKeyError:
            # The conversation has a later message already: this one is stale.
            return

    async def delete(self, conversation_id: str) -> None:
        await self.collection.delete_one({"_id": conversation_id})

    async def claim_due(self, now: datetime, next_due_at: datetime) -> Document | None:
        """Claim the earliest timer due at `now`, if any: in one write its `due_at` moves to
        `next_due_at` and its `reminders_sent` counts one more, so of any number of
        claimers exactly one gets it. The timer as claimed."""
        return await self.collection.find_one_and_update(
            {"due_at": {"$lte": now}},
            {"$set": {"due_at": next_due_at}, "$inc": {"reminders_sent": 1}},
            sort=[("due_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
