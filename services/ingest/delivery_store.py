"""MongoDB: the delivery state of outbound messages (db `ingest`).

`deliveries`, `_id` = our message id (the OutboundMessage / ConsultationEmail event id):
    state      sending → sent | failed, or sending → retrying → sending ... (parked retries)
    lease_until  while `sending`: the replica that claimed it owns it until then; after
               that the sweeper may take it over (the owner died mid-send)
    parts      provider ids of the parts already accepted, pushed one by one *before* the
               next part is sent and before the AMQP ack, so a retry or a redelivery resumes
               after them and never sends a part twice
    result_published  whether routing/tickets got the outcome; the sweeper re-publishes
`send_schedule`, `_id` = a limit's key ("whatsapp:<number>", "pair:whatsapp:<number>:<to>",
"messenger:page:media", ...): `tat`, the epoch second at which the limit is free again
(outbound/pacing.py), shared by every replica (one atomic pipeline update per send), expired
by a TTL index an hour after its last use.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.mongo import Document

Claim = Literal["claimed", "done", "busy"]

# Outcomes are kept 30 days: longer than any redelivery or Meta's 7-day status retries.
DELIVERY_TTL_SECONDS = 30 * 24 * 3600
# A schedule idle for an hour is forgotten (its `tat` is long past by then, unless a backlog
# of more than an hour was paced on it: the provider's own refusal then backs off).
SCHEDULE_TTL_SECONDS = 3600


class DeliveryStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.deliveries = db["deliveries"]
        self.send_schedule = db["send_schedule"]

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index(
            [("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"
        )
        await self.deliveries.create_index([("external_ids", ASCENDING)], name="external_ids")
        await self.deliveries.create_index(
            [("recipient", ASCENDING), ("state", ASCENDING)], name="recipient_state"
        )
        await self.deliveries.create_index(
            "finished_at", expireAfterSeconds=DELIVERY_TTL_SECONDS, name="deliveries_ttl"
        )
        await self.send_schedule.create_index(
            "at", expireAfterSeconds=SCHEDULE_TTL_SECONDS, name="send_schedule_ttl"
        )

    # --- claiming ---------------------------------------------------------------------

    async def claim(
        self,
        message_id: str,
        kind: str,
        channel: str,
        recipient: str,
        message: Document,
        now: datetime,
        lease: timedelta,
    ) -> tuple[Claim, Document]:
        """`claimed`: this caller sends now; `done`: sent or failed already (re-publish the
        outcome); `busy`: another replica holds a live lease, or it is parked for later."""
        doc: Document = {
            "_id": message_id,
            "kind": kind,
            "channel": channel,
            "recipient": recipient,
            "message": message,
            "state": "sending",
            "lease_until": now + lease,
            "attempts": 0,
            "parts": [],
            "external_ids": [],
            "created_at": now,
            "updated_at": now,
            "result_published": False,
        }
        try:
            await self.deliveries.insert_one(doc)
            return "claimed", doc
        except DuplicateKeyError:
            pass
        existing = await self.deliveries.find_one({"_id": message_id})
        if existing is None:
            return "busy", doc
        if existing["state"] in ("sent", "failed"):
            return "done", existing
        if existing["state"] == "sending" and existing["lease_until"] < now:
            taken = await self.take_over(existing, now, lease)
            if taken is not None:
                return "claimed", taken
        return "busy", existing

    async def take_over(self, doc: Document, now: datetime, lease: timedelta) -> Document | None:
        """Compare-and-set: claim a parked or abandoned delivery; None if someone else did."""
        return await self.deliveries.find_one_and_update(
            {"_id": doc["_id"], "state": doc["state"], "updated_at": doc["updated_at"]},
            {"$set": {"state": "sending", "lease_until": now + lease, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def parked_before(self, recipient: str, created_at: datetime) -> Document | None:
        """An earlier reply to the same recipient still parked: a later one must wait
        behind it, or the customer would read them out of order."""
        return await self.deliveries.find_one(
            {"recipient": recipient, "state": "retrying", "created_at": {"$lt": created_at}},
            sort=[("created_at", ASCENDING)],
        )

    async def due(
        self,
        now: datetime,
        channels: list[str],
        outcome_grace: timedelta = timedelta(seconds=10),
        limit: int = 100,
    ) -> list[Document]:
        """Parked deliveries whose time has come, sends abandoned by a dead replica, and
        outcomes still unpublished after `outcome_grace` (younger ones are being published
        by the consumer that just finished them)."""
        cursor = (
            self.deliveries.find(
                {
                    "channel": {"$in": channels},
                    "$or": [
                        {"state": "retrying", "next_attempt_at": {"$lte": now}},
                        {"state": "sending", "lease_until": {"$lt": now}},
                        {
                            "state": {"$in": ["sent", "failed"]},
                            "result_published": False,
                            "finished_at": {"$lte": now - outcome_grace},
                        },
                    ],
                }
            )
            .sort("created_at", ASCENDING)
            .limit(limit)
        )
        return [doc async for doc in cursor]

    # --- progress and outcome ---------------------------------------------------------

    async def part_sent(self, message_id: str, external_id: str, now: datetime) -> None:
        await self.deliveries.update_one(
            {"_id": message_id},
            {
                "$push": {"parts": external_id, "external_ids": external_id},
                "$set": {"updated_at": now},
            },
        )

    async def attempted(self, message_id: str, now: datetime, lease: timedelta) -> None:
        """Count a failed attempt and renew the lease: in-process retries keep it."""
        await self.deliveries.update_one(
            {"_id": message_id},
            {"$inc": {"attempts": 1}, "$set": {"updated_at": now, "lease_until": now + lease}},
        )

    async def sent(self, message_id: str, now: datetime) -> Document | None:
        return await self.deliveries.find_one_and_update(
            {"_id": message_id},
            {
                "$set": {
                    "state": "sent",
                    "updated_at": now,
                    "finished_at": now,
                    "reason": None,
                    "error_code": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def failed(
        self, message_id: str, reason: str, detail: str, code: str | None, now: datetime
    ) -> Document | None:
        return await self.deliveries.find_one_and_update(
            {"_id": message_id},
            {
                "$set": {
                    "state": "failed",
                    "reason": reason,
                    "detail": detail,
                    "error_code": code,
                    "updated_at": now,
                    "finished_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def park(
        self, message_id: str, reason: str, detail: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        await self.deliveries.update_one(
            {"_id": message_id},
            {
                "$set": {
                    "state": "retrying",
                    "reason": reason,
                    "detail": detail,
                    "next_attempt_at": next_attempt_at,
                    "updated_at": now,
                }
            },
        )

    async def result_published(self, message_id: str) -> None:
        await self.deliveries.update_one({"_id": message_id}, {"$set": {"result_published": True}})

    async def get(self, message_id: str) -> Document | None:
        return await self.deliveries.find_one({"_id": message_id})

    async def pending_by_channel(self) -> dict[str, int]:
        """Deliveries not finished (sending or parked), per channel: the gauge's source."""
        cursor = await self.deliveries.aggregate(
            [
                {"$match": {"state": {"$in": ["sending", "retrying"]}}},
                {"$group": {"_id": "$channel", "n": {"$sum": 1}}},
            ]
        )
        return {str(doc["_id"]): int(doc["n"]) async for doc in cursor}

    # --- pacing ---------------------------------------------------------------------

    async def reserve_slot(
        self, key: str, now: float, interval: float, tolerance: float, max_wait: float
    ) -> tuple[float, bool]:
        """Apply `pacing.decide` to the schedule `key` atomically, on the server: reserve
        the next slot if its wait is at most `max_wait`. Returns the `tat` after the update
        and whether this call reserved (it wrote its own token), from which the caller
        computes its slot (`pacing.slot_after`). The document after the update, not a
        pre-image: it is what this update wrote, whatever ran concurrently.

        Two replicas upserting a new schedule at once can collide (one gets a duplicate-key
        error): the loser simply reserves again on the existing document."""
        token = uuid.uuid4().hex
        previous = {"$ifNull": ["$tat", now]}
        base = {"$max": [previous, now]}
        fits = {"$lte": [{"$subtract": [base, now + tolerance]}, max_wait]}
        update = [
            {
                "$set": {
                    "tat": {"$cond": [fits, {"$add": [base, interval]}, previous]},
                    "by": {"$cond": [fits, token, {"$ifNull": ["$by", None]}]},
                    "at": datetime.fromtimestamp(now, UTC),
                }
            }
        ]
        for _ in range(5):
            try:
                after: Any = await self.send_schedule.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                continue
            if after is not None:
                return float(after["tat"]), after.get("by") == token
        raise RuntimeError(f"could not reserve a slot on {key}")
