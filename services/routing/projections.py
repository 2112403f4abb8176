"""What routing learns from other services: customers (who a conversation belongs to) and
tickets (a service generated from a conversation). Idempotent and order-tolerant: every
projection write is conditional on the snapshot's version, so an older snapshot never
overwrites a newer one, whichever replica handles it.
"""

from __future__ import annotations

from collections.abc import Callable, Set

from services.routing import domain
from services.routing.first_response import ResponseTargets
from services.routing.store import Store
from services.routing.timeline import Draft, derived_id
from shared.contracts import CustomerEvent, CustomerSnapshot, TicketEvent, utcnow
from shared.logging import bind_context, get_logger
from shared.mongo import Document

log = get_logger("routing.projections")

ANONYMIZED = "[anonimizado]"
COMMIT_ROUNDS = 20


class Projections:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _commit_each(self, docs: list[Document], change: Callable[[Draft], bool]) -> int:
        """Apply `change` to these conversations; how many it changed."""
        written = await self.store.change(docs, change, rounds=COMMIT_ROUNDS)
        for draft in written:
            draft.written()
        return len(written)

    # --- customers ----------------------------------------------------------------------

    async def on_customer_event(self, event: CustomerEvent) -> int:
        """Keep identity → customer (name, document, tags, blocked) and carry it onto the
        conversations; returns how many conversations changed.

        An unmerge first gives the restored customer (`merged_customer`, with its identities
        back) its own conversations again: those whose identity is one of its identities
        get its id, name and document back; the survivor keeps only the others."""
        customer = event.customer
        with bind_context(event_id=event.event_id):
            changed = 0
            restored_keys: set[str] = set()
            restored = event.merged_customer if event.action == "unmerged" else None
            if restored is not None and not restored.anonymized:
                restored_keys = {i.key for i in restored.identities}
                if await self._project(restored, restored_keys):
                    changed += await self._carry_customer(
                        event,
                        restored,
                        restored_keys | set(restored.blocked_identities),
                        change="customer_unmerged",
                    )
            keys = {i.key for i in customer.identities}
            if event.identity is not None:
                keys.add(event.identity.key)
            if customer.anonymized or event.action == "anonymized":
                if not await self._project(customer, set()):
                    return changed  # an older snapshot than the one projected
                return changed + await self._anonymize(event, keys)
            if not await self._project(customer, keys):
                return changed  # an older snapshot than the one projected
            change = "customer_merged" if event.action == "merged" else "customer_linked"
            return changed + await self._carry_customer(
                event,
                customer,
                keys | set(customer.blocked_identities),
                change=change,
                leave=restored_keys,
            )

    async def _project(self, customer: CustomerSnapshot, keys: set[str]) -> bool:
        """Store the customer and map its identities to it; False for an older snapshot
        than the one projected (then nothing is written)."""
        name = None if customer.anonymized else customer.full_name
        fresh = await self.store.project_customer(
            customer.customer_id,
            {
                "name": name,
                "document_number": customer.document_number,
                "tags": list(customer.tags),
                "anonymized": customer.anonymized,
            },
            customer.version,
        )
        if not fresh:
            return False
        blocked = set(customer.blocked_identities)
        await self.store.project_identities(
            {
                key: {
                    "customer_id": customer.customer_id,
                    "name": name,
                    "document_number": customer.document_number,
                    "blocked": key in blocked,
                }
                for key in keys | blocked
            }
        )
        return True

    async def _carry_customer(
        self,
        event: CustomerEvent,
        customer: CustomerSnapshot,
        keys: set[str],
        *,
        change: str,
        leave: Set[str] = frozenset(),
    ) -> int:
        """Give the customer's id, name and document to the conversations it owns: those
        of its identities (the snapshot is the authority), those already under its id, and
        after a merge the absorbed customer's. Conversations of the identities in `leave`
        (an unmerged customer's) are left to their own customer."""
        name = None if customer.anonymized else customer.full_name
        owners: list[str] = []
        if change != "customer_unmerged":
            owners.append(customer.customer_id)
        if event.action == "merged" and event.merged_customer_id:
            owners.append(event.merged_customer_id)
        if not keys and not owners:
            return 0
        wanted = {
            "customer_id": customer.customer_id,
            "customer_name": name,
            "document_number": customer.document_number,
        }
        audited = event.action in ("merged", "unmerged")

        def carry(draft: Draft) -> bool:
            if draft.doc.get("customer_anonymized"):
                return False  # stays with the anonymized customer, whoever writes from there
            if draft.doc.get("identity_key") in leave:
                return False
            diff = {k: v for k, v in wanted.items() if draft.doc.get(k) != v}
            if not name and "customer_name" in diff and draft.doc.get("customer_name"):
                diff.pop("customer_name")  # keep the name the channel gave until we know better
            if not diff:
                return False
            draft.set(**diff)
            draft.record(
                "status_changed",
                "system",
                event_id=derived_id(event.event_id, draft.id),
                change=change,
                audit=audited,
            )
            return True

        docs = await self.store.conversations_of(sorted(keys), owners)
        return await self._commit_each(docs, carry)

    async def _anonymize(self, event: CustomerEvent, keys: set[str]) -> int:
        """Erase what the customer said and who they are; keep counts and timestamps.

        Their conversations are closed and marked as the anonymized customer's for good (a
        later customer of the same number never takes them over), and the identities stop
        mapping to them: the number's next message opens a new conversation, for the new
        customer customers creates (named by `customer.identified`, or the derived id).
        """
        customer_id = event.customer.customer_id
        # Older snapshots still listed the identities: their conversations count when they
        # are this customer's or nobody's.
        found = await self.store.conversations_of(
            sorted(keys), [customer_id], identities_owned_by=[customer_id, None]
        )
        conversations = [d["_id"] for d in found]
        keys |= {d["identity_key"] for d in found if d.get("identity_key")}
        await self.store.erase_texts(conversations, sorted(keys), ANONYMIZED)
        now = utcnow()

        def erase(draft: Draft) -> bool:
            draft.set(
                customer_id=customer_id,
                customer_name=None,
                document_number=None,
                last_message_preview=ANONYMIZED if draft.doc.get("last_message_preview") else None,
                bot_memory=[],
                customer_anonymized=True,
            )
            draft.record(
                "status_changed",
                "system",
                event_id=derived_id(event.event_id, draft.id),
                change="customer_anonymized",
            )
            if draft.conversation.is_open:
                decision = domain.close(draft.conversation, domain.Actor("system"))
                draft.apply(decision)
                draft.set(closed_at=now)
                draft.record(
                    "closed", "system", event_id=derived_id(event.event_id, draft.id, "closed")
                )
                # Nobody will answer now: settled (a miss if it was overdue), not swept later.
                ResponseTargets.closed(draft, now)
            if "open_identity" in draft.doc:
                draft.doc.pop("open_identity")
                draft.unset.add("open_identity")
            return True

        changed = await self._commit_each(found, erase)
        await self._retire_identities(customer_id, keys)
        return changed

    async def _retire_identities(self, customer_id: str, keys: set[str]) -> None:
        """The identities that still map to the anonymized customer map to nobody: the next
        message names its customer afresh. One already mapped to a newer customer (its
        `customer.identified` arrived first) is left alone."""
        projected = await self.store.identities_of(sorted(keys))
        await self.store.project_identities(
            {
                key: {
                    "customer_id": None,
                    "name": None,
                    "document_number": None,
                    "blocked": False,
                    "retired_from": customer_id,
                }
                for key, doc in projected.items()
                if doc.get("customer_id") == customer_id
            }
        )

    # --- tickets ------------------------------------------------------------------------

    async def on_ticket_event(self, event: TicketEvent) -> None:
        """A technical service generated from a conversation: mark it and tell the customer
        their service number, once, whichever of the service's events arrives first."""
        service = event.service
        if service is None or not service.conversation_id:
            return
        cid = service.conversation_id
        message_id = derived_id(service.service_id, "service_number")
        with bind_context(event_id=event.event_id, conversation_id=cid):
            if await self.store.existing_messages([message_id]):
                return
            text = f"Tu número de servicio técnico es {service.number}"

            def mark(draft: Draft) -> bool:
                if draft.doc.get("service_number_messages", {}).get(service.service_id):
                    return False  # staged already, not yet flushed
                if draft.doc["status"] == domain.OPEN:
                    draft.set(status=domain.SERVICE_GENERATED)
                numbers = list(draft.doc.get("service_numbers") or [])
                if service.number not in numbers:
                    numbers.append(service.number)
                marks = dict(draft.doc.get("service_number_messages") or {})
                marks[service.service_id] = message_id
                draft.set(
                    service_numbers=numbers,
                    service_number_messages=marks,
                    last_activity_at=utcnow(),
                )
                draft.append_message(message_id, "system", text, direction="outbound")
                draft.record(
                    "status_changed",
                    "system",
                    event_id=derived_id(service.service_id, "status_changed"),
                    note=service.number,
                    change="ticket_generated",
                )
                draft.send(message_id, "system", text)
                return True

            docs = list((await self.store.get_many([cid])).values())
            if not await self._commit_each(docs, mark):
                log.info("ticket_for_unknown_or_marked_conversation")
