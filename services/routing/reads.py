"""Read-side use cases: a conversation in full, its audit trail, its quality review, and
the gauges operators watch. Nothing here writes."""

from __future__ import annotations

from typing import Any

from services.routing import domain, metrics
from services.routing.quality import ChatLine, score_chat
from services.routing.store import Store
from shared.mongo import Document
from shared.outbox import OUTBOX_FIELD, staged_inserts, unpack


def _with(stored: list[Document], staged: dict[str, list[Document]], name: str) -> list[Document]:
    known = {d["_id"] for d in stored}
    extra = [d for d in staged.get(name, []) if d["_id"] not in known]
    if not extra:
        return stored
    key = "seq" if name == "messages" else "at"
    return sorted([*stored, *extra], key=lambda d: d.get(key) or 0)


class Reads:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._refreshes = 0

    async def _load(self, conversation_id: str) -> Document:
        doc = await self.store.get(conversation_id)
        if doc is None:
            raise domain.ConversationNotFound(f"conversation {conversation_id} not found")
        return doc

    async def view(self, conversation_id: str) -> Document:
        doc = await self._load(conversation_id)
        tags: list[str] = []
        if doc.get("customer_id"):
            customer = await self.store.customer(doc["customer_id"])
            tags = list(customer.get("tags", [])) if customer else []
        # What the last write staged is being inserted right now: shown with it, so a
        # conversation is never seen without the messages its count includes.
        staged = staged_inserts(unpack(doc.get(OUTBOX_FIELD)))
        return {
            "conversation": doc,
            "customer_tags": tags,
            "messages": _with(await self.store.messages_of(conversation_id), staged, "messages"),
            "events": _with(await self.store.events_of(conversation_id), staged, "events"),
            "notes": _with(await self.store.notes_of(conversation_id), staged, "notes"),
        }

    async def customer_messages(
        self, customer_id: str, author: str | None, limit: int
    ) -> list[Document]:
        """A customer's messages across its conversations; with `author`, only theirs (the
        customer panel's Casos: an agent's own previous replies, seed 003)."""
        return await self.store.messages_of_customer(customer_id, author, limit)

    async def events(self, conversation_id: str) -> list[Document]:
        await self._load(conversation_id)
        return await self.store.events_of(conversation_id)

    async def quality(self, conversation_id: str) -> dict[str, Any]:
        doc = await self._load(conversation_id)
        lines = [
            ChatLine(author=domain.author_kind(m["author"]), text=m.get("text") or "", at=m["at"])  # type: ignore[arg-type]
            for m in await self.store.messages_of(conversation_id)
            # The satisfaction question, answer and thanks come after the chat: not reviewed.
            if not m.get("survey")
        ]
        report = score_chat(
            lines,
            live=doc["status"] != domain.CLOSED,
            ticket_numbers=tuple(doc.get("service_numbers", [])),
        )
        return report.as_dict()

    async def refresh_gauges(self) -> None:
        """Open conversations every time; the closed ones (which only grow) every 12th."""
        self._refreshes += 1
        statuses = [domain.OPEN, domain.SERVICE_GENERATED]
        if self._refreshes % 12 == 1:
            statuses.append(domain.CLOSED)
        counts = await self.store.count_by_kind_and_status(statuses)
        for kind in ("lara", "agent", "staff", "queue"):
            for status in statuses:
                metrics.CONVERSATIONS.labels(kind, status).set(counts.get((kind, status), 0))
