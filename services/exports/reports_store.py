"""MongoDB side of the reports read model (issue 27): small counters documents per slot
(`reports.Slot`), what the model remembers of each conversation, and the ids of the events
already counted.

Collections of the `exports` database:
- `report_hours`, `report_people`, `report_handovers`, `report_work`: `_id` = the slot's
  key fields joined by `|`, those fields, counters (`$inc`) and lists of seconds (`$push`).
- `report_conversations`: `_id` = conversation id; earliest moments (`$min`) and the people
  who took part (`$addToSet`): order-tolerant and idempotent by construction; `last_at`.
- `report_events`: `_id` = event id of every event counted, `at`. An event is marked before its
  counters are added (so a redelivery adds nothing); if adding fails the marks are removed
  and the redelivery adds them. A process dying between the two loses that batch's counts
  (an undercount, never a double count).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.exports.reports import Facts, FactsChange, Slot, Tally
from shared.contracts.base import utcnow
from shared.mongo import Document

KINDS = ("hours", "people", "handovers", "work")
# Redeliveries come within minutes (a dead-lettered event replayed by hand within days):
# an event's mark is kept two weeks. A conversation's facts are kept 90 days after its last
# event (one silent for longer and then closed is counted without a handle time).
EVENT_MARK_SECONDS = 14 * 24 * 3600
FACTS_SECONDS = 90 * 24 * 3600


class ReportsStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.events = db["report_events"]
        self.conversations = db["report_conversations"]
        self.slots = {kind: db[f"report_{kind}"] for kind in KINDS}

    async def ensure_indexes(self) -> None:
        """Every report reads a range of days (optionally one channel); marks and facts
        expire (`EVENT_MARK_SECONDS`, `FACTS_SECONDS`)."""
        await self.events.create_index("at", expireAfterSeconds=EVENT_MARK_SECONDS, name="ttl")
        await self.conversations.create_index(
            "last_at", expireAfterSeconds=FACTS_SECONDS, name="ttl"
        )
        for collection in self.slots.values():
            await collection.create_index(
                [("day", ASCENDING), ("channel", ASCENDING)], name="day_channel"
            )

    async def first_seen(self, event_ids: list[str]) -> set[str]:
        """Marks the events as counted; returns those not marked before (to count now)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return set()
        now = utcnow()
        ops = [UpdateOne({"_id": i}, {"$setOnInsert": {"at": now}}, upsert=True) for i in ids]
        result = await self.events.bulk_write(ops, ordered=False)
        return {ids[index] for index in (result.upserted_ids or {})}

    async def unmark(self, event_ids: set[str]) -> None:
        if event_ids:
            await self.events.delete_many({"_id": {"$in": sorted(event_ids)}})

    async def facts_of(self, conversation_ids: set[str]) -> dict[str, Facts]:
        """What is known of these conversations, in one query."""
        found: dict[str, Facts] = {}
        async for doc in self.conversations.find({"_id": {"$in": sorted(conversation_ids)}}):
            found[doc["_id"]] = Facts(
                opened_at=doc.get("opened_at"),
                waiting_since=doc.get("waiting_since"),
                person_since=doc.get("person_since"),
                first_reply_at=doc.get("first_reply_at"),
                persons=tuple(doc.get("persons", [])),
            )
        return found

    async def note_conversations(self, changes: list[tuple[str, FactsChange]]) -> None:
        """Adds what events tell of their conversations, in one bulk write: earliest moments
        win and people accumulate, so order and repetition change nothing."""
        ops, now = [], utcnow()
        for conversation_id, change in changes:
            mins = {
                name: value
                for name in ("waiting_since", "person_since", "first_reply_at")
                if (value := getattr(change, name)) is not None
            }
            update: dict[str, Any] = {
                "$setOnInsert": {"channel": change.channel},
                "$min": {"opened_at": change.opened_at, **mins},
                "$max": {"last_at": now},
            }
            if change.persons:
                update["$addToSet"] = {"persons": {"$each": list(change.persons)}}
            ops.append(UpdateOne({"_id": conversation_id}, update, upsert=True))
        if ops:
            await self.conversations.bulk_write(ops, ordered=True)

    async def add(self, tally: Tally) -> None:
        """One bulk write per kind of slot: counters added, samples appended."""
        ops: dict[str, list[UpdateOne]] = {}
        for slot in tally.slots():
            update: dict[str, Any] = {"$setOnInsert": slot.fields()}
            if counts := tally.counts.get(slot):
                update["$inc"] = dict(counts)
            if samples := tally.samples.get(slot):
                update["$push"] = {name: {"$each": values} for name, values in samples.items()}
            ops.setdefault(slot.kind, []).append(UpdateOne({"_id": slot.id}, update, upsert=True))
        for kind, batch in ops.items():
            await self.slots[kind].bulk_write(batch, ordered=True)

    async def read(
        self, kind: str, desde: str, hasta: str, channel: str | None = None
    ) -> list[Document]:
        query: dict[str, Any] = {"day": {"$gte": desde, "$lte": hasta}}
        if channel:
            query["channel"] = channel
        return [doc async for doc in self.slots[kind].find(query)]

    async def slot(self, slot: Slot) -> Document | None:
        return await self.slots[slot.kind].find_one({"_id": slot.id})
