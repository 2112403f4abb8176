"""Use cases of the customers service: load, apply the domain rules, save, audit, publish.

Every change is written first and its `customer.*` event then goes through the outbox, so a
crash between the two delays the event instead of losing it. Events caused by an inbound
event carry a deterministic id (`customer.identified:<inbound id>`), so a redelivery never
publishes twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.customers import domain, metrics
from services.customers.identification import Identification
from services.customers.snapshots import snapshot
from services.customers.store import CustomerStore
from shared.auth import User
from shared.contracts import (
    CallEvent,
    CustomerEvent,
    CustomerSnapshot,
    Identity,
    InboundMessage,
)
from shared.contracts.base import new_id, utcnow
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import EmbeddedOutbox

log = get_logger("customers")

# How long a conversation's first contact waits for its identity to be inserted.
CONTACT_WAIT_ROUNDS = 10
CONTACT_WAIT_SECONDS = 0.1

# The personal fields: what staff edit, and what anonymizing erases.
PROFILE_FIELDS = domain.EDITABLE_FIELDS


def identity_view(doc: Document) -> dict[str, Any]:
    return {
        "key": doc["_id"],
        "channel": doc["channel"],
        "external_id": doc["external_id"],
        "blocked": bool(doc.get("blocked")),
        "first_seen_at": doc.get("first_seen_at"),
        "last_seen_at": doc.get("last_seen_at"),
        "contact_count": doc.get("contact_count", 0),
    }


def customer_view(doc: Document, identities: list[Document]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": doc["_id"]}
    view.update({f: doc.get(f) for f in PROFILE_FIELDS})
    view.update(
        {
            "full_name": snapshot(doc, []).full_name,
            "extra": doc.get("extra") or {},
            "tags": list(doc.get("tags") or []),
            "identities": [identity_view(i) for i in identities],
            "status": doc.get("status", "active"),
            "merged_into": doc.get("merged_into"),
            "absorbed_ids": list(doc.get("absorbed_ids") or []),
            "anonymized": bool(doc.get("anonymized")),
            "anonymized_at": doc.get("anonymized_at"),
            "created_at": doc.get("created_at"),
            "updated_at": doc.get("updated_at"),
            "version": doc.get("version", 0),
        }
    )
    return view


def _strip(doc: Document) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "_id"}
    return {"id": doc["_id"], **out}


def intent(action: str, actor: str | None, event_id: str | None = None, **fields: Any) -> Document:
    """A `customer.<action>` event staged with the change it announces; the snapshot it
    carries is taken when it is published (the latest state is what consumers need)."""
    return {
        "kind": "event",
        "id": event_id or new_id(),
        "type": "CustomerEvent",
        "intent": {"action": action, "actor": actor, **fields},
    }


class CustomerHandlers:
    def __init__(self, store: CustomerStore, outbox: EmbeddedOutbox) -> None:
        self.store = store
        self.outbox = outbox
        self.identification = Identification(store, outbox)

    async def identify(self, contact: InboundMessage | CallEvent) -> str:
        """Identify one contact (the batched path does many at once); its customer id."""
        await self.identification.identify([contact])
        owners = await self.store.owners_of([contact.identity.key])
        return owners[contact.identity.key]

    # -- publishing ----------------------------------------------------------------------------

    async def materialize(self, doc: Document, entry: Document) -> CustomerEvent | None:
        """The event a staged entry stands for, with the customer as it is now."""
        if "intent" not in entry:
            return CustomerEvent.model_validate(entry["body"])
        fields = dict(entry["intent"])
        current = await self.store.get(doc["_id"]) or doc
        if fields.get("identity"):
            fields["identity"] = Identity(**fields["identity"])
        if fields.get("merged_customer_id"):
            fields["merged_customer"] = await self._snapshot(fields["merged_customer_id"])
        return CustomerEvent(
            event_id=entry["id"],
            customer=snapshot(current, await self.store.identities_of(current["_id"])),
            **fields,
        )

    async def _flush(self, customer_id: str, entries: list[Document]) -> None:
        """Publish what a change staged; a broker failure leaves it for the relay."""
        await self.outbox.flush({customer_id: ({"_id": customer_id}, entries)})

    async def _snapshot(self, customer_id: str) -> CustomerSnapshot:
        doc = await self.store.require(customer_id)
        return snapshot(doc, await self.store.identities_of(customer_id))

    async def _done(self, customer_id: str, user: User, action: str, detail: Document) -> None:
        await self.store.add_audit(customer_id, user.actor, action, detail)
        metrics.STAFF_ACTIONS.labels(action).inc()

    async def on_conversations(
        self, links: list[tuple[str, str | None]], opened: list[tuple[str, str]] | None = None
    ) -> None:
        """Routing tells which customer each conversation belongs to; keep the links (one
        bulk write for a batch of conversation events). Each conversation `opened`
        (conversation id, identity key) counts one contact of its identity: contacts are
        counted when a conversation opens, not per message."""
        await self.store.link_conversations({c: k for c, k in links if k})
        missing = await self.store.count_contacts(opened or [], utcnow())
        # A first contact's identity is inserted by the inbound consumer, which may still be
        # at it: wait a little for it. One that never comes (retired meanwhile) is not counted.
        for _ in range(CONTACT_WAIT_ROUNDS):
            if not missing:
                return
            await asyncio.sleep(CONTACT_WAIT_SECONDS)
            missing = await self.store.count_contacts(
                [(c, k) for c, k in opened or [] if k in missing], utcnow()
            )
        if missing:
            log.warning("contact_not_counted", identities=len(missing))

    # -- reading -------------------------------------------------------------------------------

    async def get(self, customer_id: str) -> dict[str, Any]:
        doc = await self.store.require(customer_id)
        return customer_view(doc, await self.store.identities_of(customer_id))

    async def search(
        self, q: str, limit: int, offset: int, tag: str | None = None
    ) -> dict[str, Any]:
        terms = domain.search_terms(q).terms
        docs, total = await self.store.search(terms, limit, offset, tag)
        items = []
        for doc in docs:
            items.append(customer_view(doc, await self.store.identities_of(doc["_id"])))
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    async def suggestions(self, customer_id: str) -> list[dict[str, Any]]:
        doc = await self.store.require(customer_id)
        mine = set(doc.get("match_keys") or [])
        out = []
        for other in await self.store.sharing_match_keys(customer_id, sorted(mine)):
            shared = sorted(mine & set(other.get("match_keys") or []))
            reasons = sorted({k.split(":", 1)[0] for k in shared})
            view = customer_view(other, await self.store.identities_of(other["_id"]))
            out.append({"customer": view, "matched_on": reasons})
        return out

    def _lineage(self, doc: Document) -> list[str]:
        return [doc["_id"], *(doc.get("absorbed_ids") or [])]

    # -- profile -------------------------------------------------------------------------------

    async def update_profile(
        self, customer_id: str, body: dict[str, Any], user: User
    ) -> dict[str, Any]:
        body = dict(body)
        extra_raw = body.pop("extra", None)
        changes = domain.validate_profile_changes(body)
        extra: dict[str, Any] = {}
        if extra_raw is not None:
            if not isinstance(extra_raw, dict):
                raise domain.InvalidField("extra", "must be an object of configured fields")
            extra = domain.validate_extra(extra_raw, await self.store.field_definitions())
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        domain.check_not_anonymized(doc)
        if not changes and not extra:
            return await self.get(customer_id)
        sets: dict[str, Any] = dict(changes)
        sets.update({f"extra.{k}": v for k, v in extra.items()})
        update: Document = {"$set": sets}
        if changes:
            update["$addToSet"] = {"staff_edited": {"$each": sorted(changes)}}
        staged = [intent("updated", user.actor)]
        await self.store.update(customer_id, update, staged=staged)
        await self.store.refresh_keys(customer_id)
        fields = sorted(changes) + [f"extra.{k}" for k in sorted(extra)]
        await self._done(customer_id, user, "updated", {"fields": fields})
        await self._flush(customer_id, staged)
        return await self.get(customer_id)

    async def field_definitions(self) -> list[dict[str, Any]]:
        return self.store.fields_payload(await self.store.field_definitions())

    async def save_field_definitions(
        self, definitions: list[dict[str, Any]], user: User
    ) -> list[dict[str, Any]]:
        fields = domain.validate_field_definitions(definitions)
        await self.store.save_field_definitions(fields, user.actor)
        metrics.STAFF_ACTIONS.labels("fields_configured").inc()
        return self.store.fields_payload(fields)

    # -- tags ----------------------------------------------------------------------------------

    async def catalogue(self) -> list[dict[str, Any]]:
        return [
            {"tag": t["_id"], "label": t["label"], "seed": bool(t.get("seed"))}
            for t in await self.store.catalogue()
        ]

    async def create_tag(self, tag: str, label: str, user: User) -> dict[str, Any]:
        domain.check_tag_slug(tag)
        label = label.strip()
        if not label:
            raise domain.InvalidField("label", "a label is required")
        doc = await self.store.create_tag(tag, label[:100], user.actor)
        metrics.STAFF_ACTIONS.labels("tag_created").inc()
        return {"tag": doc["_id"], "label": doc["label"], "seed": False}

    async def add_tag(
        self, customer_id: str, tag: str, note: str | None, user: User
    ) -> dict[str, Any]:
        note = domain.require_note(note)
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        catalogue = [t["_id"] for t in await self.store.catalogue()]
        domain.check_can_add_tag(doc.get("tags") or [], tag, catalogue)
        staged = [intent("tagged", user.actor, tag=tag, note=note)]
        updated = await self.store.update(
            customer_id,
            {"$addToSet": {"tags": tag}},
            condition={"tags": {"$ne": tag}},
            staged=staged,
        )
        if updated is None:
            raise domain.AlreadyTagged(f"the customer already has the tag {tag!r}")
        entry = await self.store.record_tag_change(customer_id, tag, "added", user.actor, note)
        await self._done(customer_id, user, "tagged", {"tag": tag})
        await self._flush(customer_id, staged)
        return _strip(entry)

    async def remove_tag(
        self, customer_id: str, tag: str, note: str | None, user: User
    ) -> dict[str, Any]:
        note = domain.require_note(note)
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        domain.check_can_remove_tag(doc.get("tags") or [], tag)
        staged = [intent("untagged", user.actor, tag=tag, note=note)]
        updated = await self.store.update(
            customer_id, {"$pull": {"tags": tag}}, condition={"tags": tag}, staged=staged
        )
        if updated is None:
            raise domain.NotTagged(f"the customer does not have the tag {tag!r}")
        entry = await self.store.record_tag_change(customer_id, tag, "removed", user.actor, note)
        await self._done(customer_id, user, "untagged", {"tag": tag})
        await self._flush(customer_id, staged)
        return _strip(entry)

    async def tag_history(self, customer_id: str) -> list[dict[str, Any]]:
        doc = await self.store.require(customer_id)
        return [_strip(h) for h in await self.store.tag_history_of(self._lineage(doc))]

    # -- identities ----------------------------------------------------------------------------

    async def set_blocked(
        self, customer_id: str, key: str, blocked: bool, note: str | None, user: User
    ) -> dict[str, Any]:
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        identity = await self.store.get_identity(key)
        if identity is None or identity["customer_id"] != customer_id:
            raise domain.IdentityNotFound(f"the customer has no identity {key!r}")
        if bool(identity.get("blocked")) != blocked:
            action = "identity_blocked" if blocked else "identity_unblocked"
            staged = [
                intent(
                    action,
                    user.actor,
                    identity={
                        "channel": identity["channel"],
                        "external_id": identity["external_id"],
                    },
                    note=note,
                )
            ]
            await self.store.set_identity_blocked(key, blocked)
            await self.store.update(customer_id, {}, staged=staged)
            await self._done(customer_id, user, action, {"identity": key})
            await self._flush(customer_id, staged)
        return await self.get(customer_id)

    # -- merge ---------------------------------------------------------------------------------

    async def merge(
        self, customer_id: str, other_id: str, note: str | None, user: User
    ) -> dict[str, Any]:
        """`other_id` is absorbed into `customer_id`: its identities, tags, notes and history
        follow the survivor; what changed is recorded so `unmerge` restores it exactly."""
        survivor = await self.store.require(customer_id)
        absorbed = await self.store.require(other_id)
        plan = domain.plan_merge(survivor, absorbed)
        merge_id = new_id()
        moved = [i["_id"] for i in await self.store.identities_of(other_id)]
        now = utcnow()
        await self.store.insert_merge(
            {
                "_id": merge_id,
                "survivor_id": customer_id,
                "absorbed_id": other_id,
                "moved_identities": moved,
                "filled": plan.filled,
                "tags_added": plan.tags_added,
                "notes_before": plan.notes_before,
                "notes_after": plan.notes_after,
                "absorbed_lineage": plan.absorbed_lineage,
                "note": note,
                "actor": user.actor,
                "at": now,
                "undone_at": None,
            }
        )
        # Compare-and-set: only an active customer is absorbed, once.
        taken = await self.store.update(
            other_id,
            {"$set": {"status": "merged", "merged_into": customer_id, "merge_id": merge_id}},
            condition={"status": "active"},
        )
        if taken is None:
            await self.store.mark_merge_undone(merge_id, "system", "refused: changed meanwhile")
            raise domain.MergeRefused("the other customer was merged or changed meanwhile")
        await self.store.move_identities(moved, other_id, customer_id)
        sets: dict[str, Any] = dict(plan.filled)
        sets["notes"] = plan.notes_after
        staged = [
            intent(
                "merged",
                user.actor,
                event_id=f"customer.merged:{merge_id}",
                merged_customer_id=other_id,
                note=note,
            )
        ]
        await self.store.update(
            customer_id,
            {
                "$set": sets,
                "$addToSet": {
                    "tags": {"$each": plan.tags_added},
                    "absorbed_ids": {"$each": plan.absorbed_lineage},
                },
                "$push": {"merge_stack": merge_id},
            },
            staged=staged,
        )
        await self.store.refresh_keys(customer_id)
        await self._done(
            customer_id, user, "merged", {"merge_id": merge_id, "absorbed_id": other_id}
        )
        await self.store.add_audit(
            other_id, user.actor, "merged_into", {"merge_id": merge_id, "survivor_id": customer_id}
        )
        await self._flush(customer_id, staged)
        return {"merge_id": merge_id, "customer": await self.get(customer_id)}

    async def unmerge(
        self, customer_id: str, merge_id: str, note: str | None, user: User
    ) -> dict[str, Any]:
        merge = await self.store.get_merge(merge_id)
        if merge is None or merge["survivor_id"] != customer_id:
            raise domain.MergeNotFound(f"no merge {merge_id!r} into customer {customer_id!r}")
        survivor = await self.store.require(customer_id)
        domain.check_can_unmerge(merge, survivor)
        sets, pull = domain.restore_after_unmerge(survivor, merge)
        if not await self.store.mark_merge_undone(merge_id, user.actor, note):
            raise domain.UnmergeRefused("this merge was already undone")
        absorbed_id = merge["absorbed_id"]
        await self.store.move_identities(merge["moved_identities"], customer_id, absorbed_id)
        update: Document = {
            "$pull": {
                "tags": {"$in": pull},
                "absorbed_ids": {"$in": merge["absorbed_lineage"]},
                "merge_stack": merge_id,
            }
        }
        if sets:
            update["$set"] = sets
        staged = [
            intent(
                "unmerged",
                user.actor,
                event_id=f"customer.unmerged:{merge_id}",
                merged_customer_id=absorbed_id,
                note=note,
            )
        ]
        await self.store.update(customer_id, update, staged=staged)
        await self.store.update(
            absorbed_id, {"$set": {"status": "active", "merged_into": None, "merge_id": None}}
        )
        await self.store.refresh_keys(customer_id)
        await self.store.refresh_keys(absorbed_id)
        await self._done(
            customer_id, user, "unmerged", {"merge_id": merge_id, "absorbed_id": absorbed_id}
        )
        await self.store.add_audit(absorbed_id, user.actor, "unmerged_from", {"merge_id": merge_id})
        await self._flush(customer_id, staged)
        return {
            "merge_id": merge_id,
            "customer": await self.get(customer_id),
            "restored": await self.get(absorbed_id),
        }

    # -- export, anonymize ---------------------------------------------------------------------

    async def export(self, customer_id: str, user: User) -> dict[str, Any]:
        doc = await self.store.require(customer_id)
        lineage = self._lineage(doc)
        await self._done(customer_id, user, "exported", {})
        return {
            "exported_at": utcnow(),
            "exported_by": user.actor,
            "customer": customer_view(doc, await self.store.identities_of(customer_id)),
            "tags": list(doc.get("tags") or []),
            "tag_history": [_strip(h) for h in await self.store.tag_history_of(lineage)],
            "comments": [_strip(c) for c in await self.store.comments_of(lineage)],
            "merges": [_strip(m) for m in await self.store.merges_of(lineage)],
            "audit": [_strip(a) for a in await self.store.audit_of(lineage)],
            # Conversations belong to routing; customers hears no conversation events.
            "conversation_ids": await self.store.conversations_of(lineage),
            "conversations_url": f"/api/conversations?customer_id={customer_id}",
        }

    async def anonymize(self, customer_id: str, user: User, note: str | None) -> dict[str, Any]:
        """Erase personal data (profile, comments, tag evidence) of the customer and of those
        it absorbed, and retire their identities: the next contact of those numbers starts
        a new customer (announced with `customer.identified`, its id not being the derived
        one). Counts and timestamps stay. `customer.anonymized` (its snapshot without
        identities) tells routing, tickets and exports to erase theirs. Repeating it
        finishes what a crash left half done."""
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        lineage = self._lineage(doc)
        if doc.get("anonymized"):
            await self.store.retire_identities(lineage, utcnow())
            return await self.get(customer_id)
        erased: dict[str, Any] = {f: None for f in PROFILE_FIELDS}
        erased.update(
            {
                "extra": {},
                "anonymized": True,
                "anonymized_at": utcnow(),
                "staff_edited": [],
                "search_keys": [],
                "match_keys": [],
            }
        )
        staged = [intent("anonymized", user.actor, event_id=f"customer.anonymized:{customer_id}")]
        for cid in lineage:
            await self.store.update(
                cid, {"$set": erased}, staged=staged if cid == customer_id else None
            )
        await self.store.retire_identities(lineage, utcnow())
        await self.store.erase_texts(lineage)
        await self._done(customer_id, user, "anonymized", {"customers": len(lineage)})
        await self._flush(customer_id, staged)
        return await self.get(customer_id)

    # -- comments, audit -----------------------------------------------------------------------

    async def add_comment(self, customer_id: str, text: str, user: User) -> dict[str, Any]:
        text = text.strip()
        if not text:
            raise domain.InvalidField("text", "a comment needs text")
        doc = await self.store.require(customer_id)
        domain.check_active(doc)
        comment = await self.store.add_comment(customer_id, user.actor, text)
        await self._done(customer_id, user, "commented", {"comment_id": comment["_id"]})
        return _strip(comment)

    # -- cases (seed 003: a case is one conversation; its comments live and die with it) -----

    async def _case_of(self, customer_id: str, case_id: str) -> tuple[Document, list[str]]:
        doc = await self.store.require(customer_id)
        lineage = self._lineage(doc)
        if not await self.store.is_linked(case_id, lineage):
            raise domain.CaseNotFound(f"conversation {case_id!r} is not a case of {customer_id!r}")
        return doc, lineage

    async def cases(self, customer_id: str) -> list[dict[str, Any]]:
        """Every case (conversation) of the customer with its state and its comments; the
        messages themselves are routing's (`GET /api/messages`)."""
        doc = await self.store.require(customer_id)
        lineage = self._lineage(doc)
        case_ids = await self.store.conversations_of(lineage)
        states = await self.store.cases_of(case_ids)
        comments: dict[str, list[dict[str, Any]]] = {}
        for c in await self.store.comments_of(lineage):
            if c.get("case_id"):
                comments.setdefault(c["case_id"], []).append(_strip(c))
        out = []
        for case_id in case_ids:
            state = states.get(case_id) or {}
            out.append(
                {
                    "case_id": case_id,
                    "status": state.get("status", "open"),
                    "cancelled_by": state.get("cancelled_by"),
                    "cancelled_at": state.get("cancelled_at"),
                    "comments": comments.get(case_id, []),
                }
            )
        return out

    async def comment_case(
        self, customer_id: str, case_id: str, text: str, user: User
    ) -> dict[str, Any]:
        text = text.strip()
        if not text:
            raise domain.InvalidField("text", "a comment needs text")
        doc, _ = await self._case_of(customer_id, case_id)
        domain.check_active(doc)
        domain.check_case_open(await self.store.get_case(case_id))
        comment = await self.store.add_comment(customer_id, user.actor, text, case_id=case_id)
        await self._done(
            customer_id, user, "case_commented", {"case_id": case_id, "comment_id": comment["_id"]}
        )
        return _strip(comment)

    async def cancel_case(
        self, customer_id: str, case_id: str, note: str | None, user: User
    ) -> dict[str, Any]:
        """Cancel a case: its comments are deleted (the only way a comment goes away, seed
        003); the audit keeps who cancelled and how many comments went, not their text."""
        doc, _ = await self._case_of(customer_id, case_id)
        domain.check_active(doc)
        deleted = await self.store.cancel_case(case_id, customer_id, user.actor, note)
        await self._done(
            customer_id, user, "case_cancelled", {"case_id": case_id, "comments_deleted": deleted}
        )
        state = await self.store.get_case(case_id) or {}
        return {
            "case_id": case_id,
            "status": "cancelled",
            "cancelled_by": state.get("cancelled_by"),
            "cancelled_at": state.get("cancelled_at"),
            "comments_deleted": deleted,
        }

    async def comments(self, customer_id: str) -> list[dict[str, Any]]:
        doc = await self.store.require(customer_id)
        return [_strip(c) for c in await self.store.comments_of(self._lineage(doc))]

    async def audit(self, customer_id: str) -> list[dict[str, Any]]:
        doc = await self.store.require(customer_id)
        return [_strip(a) for a in await self.store.audit_of(self._lineage(doc))]
