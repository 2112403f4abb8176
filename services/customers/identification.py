"""Identification of inbound contacts, a batch at a time: who wrote or called, creating the
customer of an identity seen for the first time, keeping what the channel tells about the
person, and counting each contact once.

Load (three queries for the whole batch) → decide in memory → one bulk write per
collection. The profile change and its `customer.identified` event are written together
(the event waits inside the customer document until it is published). Only news is
published: a known customer whose profile the channel changed, or a new identity whose
customer is not the one every service derives for it (`shared.ids.first_customer_id`).
A brand-new customer is not announced: routing names it the same way already.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from services.customers import domain, metrics
from services.customers.snapshots import snapshot
from services.customers.store import CustomerStore, new_profile
from shared.contracts import CallEvent, CustomerEvent, CustomerSnapshot, Identity, InboundMessage
from shared.contracts.base import new_id, utcnow
from shared.ids import caused_id, first_customer_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import EmbeddedOutbox, event_entry, staged_document

log = get_logger("customers.identification")

Contact = InboundMessage | CallEvent


@dataclass
class Plan:
    """What one batch writes, collection by collection."""

    new_identities: list[Document] = field(default_factory=list)
    new_profiles: dict[str, Document] = field(default_factory=dict)
    profile_updates: dict[str, Document] = field(default_factory=dict)  # id -> $set fields
    staged: dict[str, list[Document]] = field(default_factory=dict)  # id -> outbox entries


class Identification:
    def __init__(self, store: CustomerStore, outbox: EmbeddedOutbox) -> None:
        self.store = store
        self.outbox = outbox

    async def identify(self, contacts: list[Contact]) -> None:
        """Identify a batch of contacts (idempotent: a redelivered one changes nothing)."""
        started = time.perf_counter()
        unique: dict[str, Contact] = {}
        for contact in contacts:
            unique.setdefault(contact.event_id, contact)
        keys = sorted({c.identity.key for c in unique.values()})
        known = await self.store.identity_docs(keys)
        counted = {e for doc in known.values() for e in doc.get("recent") or []}
        todo = [c for c in unique.values() if c.event_id not in counted]
        if not todo:
            return
        now = utcnow()
        owners = {key: doc["customer_id"] for key, doc in known.items()}
        candidates = {first_customer_id(k) for k in keys if k not in owners}
        profiles = await self.store.customers_by_id(sorted(set(owners.values()) | candidates))
        plan = Plan()
        for contact in todo:
            self._decide(contact, owners, profiles, plan, now)
        await self._commit(plan, now)
        metrics.IDENTIFY_SECONDS.observe(time.perf_counter() - started)

    def _decide(
        self,
        contact: Contact,
        owners: dict[str, str],
        profiles: dict[str, Document],
        plan: Plan,
        now: datetime,
    ) -> None:
        identity = contact.identity
        customer_id = owners.get(identity.key)
        if customer_id is None:
            customer_id = first_customer_id(identity.key)
            if customer_id in profiles and customer_id not in plan.new_profiles:
                # That id is taken (an anonymized customer of this identity, say): a new
                # customer under a new id, announced since nobody can derive it.
                customer_id = new_id()
            owners[identity.key] = customer_id
            plan.new_identities.append(_identity_doc(identity, customer_id, now))
            profile = new_profile(customer_id, now)
            profiles[customer_id] = profile
            plan.new_profiles[customer_id] = profile
            metrics.IDENTIFICATIONS.labels(identity.channel, "new").inc()
        else:
            metrics.IDENTIFICATIONS.labels(identity.channel, "known").inc()
        doc = profiles.get(customer_id)
        if doc is None:  # an identity whose profile is not written yet (a crash in between)
            doc = new_profile(customer_id, now)
            profiles[customer_id] = doc
            plan.new_profiles[customer_id] = doc
        if doc.get("status") == "merged" and doc.get("merged_into") in profiles:
            # A merge is moving this identity right now: the survivor gets the contact.
            customer_id = doc["merged_into"]
            doc = profiles[customer_id]
        info = contact.contact
        phone = info.phone
        if not phone and identity.channel in domain.PHONE_CHANNELS:
            phone = identity.external_id
        updates = domain.channel_profile_updates(
            doc, info.name, phone, info.email, info.document_number
        )
        doc.update(updates)
        if customer_id in plan.new_profiles:
            doc["search_keys"] = domain.search_keys(doc, [identity.key])
            doc["match_keys"] = domain.match_keys(doc, [identity.key])
            if customer_id == first_customer_id(identity.key):
                return
        elif not updates:
            return
        else:
            if customer_id not in plan.profile_updates:
                doc["version"] = int(doc.get("version", 0)) + 1  # the bulk write's $inc
            plan.profile_updates.setdefault(customer_id, {}).update(updates)
        event = CustomerEvent(
            event_id=caused_id("customer.identified", contact.event_id),
            action="identified",
            customer=domain_snapshot(doc, [identity]),
            identity=identity,
            cause_event_id=contact.event_id,
            actor="system",
        )
        plan.staged.setdefault(customer_id, []).append(event_entry(event))

    async def _commit(self, plan: Plan, now: datetime) -> None:
        for customer_id, entries in plan.staged.items():
            if customer_id in plan.new_profiles:  # written with the profile it announces
                plan.new_profiles[customer_id] = staged_document(
                    plan.new_profiles[customer_id], entries, now
                )
        await self.store.insert_identities(plan.new_identities)
        await self.store.insert_profiles(list(plan.new_profiles.values()))
        await self.store.apply_channel_updates(
            plan.profile_updates,
            {k: v for k, v in plan.staged.items() if k not in plan.new_profiles},
            now,
        )
        if plan.staged:
            staged = {
                cid: (plan.new_profiles.get(cid, {"_id": cid}), entries)
                for cid, entries in plan.staged.items()
            }
            if not await self.outbox.flush(staged):
                raise RuntimeError("customer.identified staged but not published")
        if plan.profile_updates:
            await self.store.refresh_keys_of(sorted(plan.profile_updates))


def _identity_doc(identity: Identity, customer_id: str, now: datetime) -> Document:
    return {
        "_id": identity.key,
        "channel": identity.channel,
        "external_id": identity.external_id,
        "customer_id": customer_id,
        "blocked": False,
        "first_seen_at": now,
        "last_seen_at": now,
        "contact_count": 0,
    }


def domain_snapshot(doc: Document, identities: list[Identity]) -> CustomerSnapshot:
    return snapshot(
        doc,
        [{"channel": i.channel, "external_id": i.external_id, "_id": i.key} for i in identities],
    )
