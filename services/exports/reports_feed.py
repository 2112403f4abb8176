"""Use cases feeding the reports read model: each event counted once (its id is marked
first), then its counters added in one bulk write per kind of slot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.exports.reports import (
    Facts,
    Tally,
    consultation_tally,
    conversation_tally,
    facts_change,
    ticket_tally,
)
from services.exports.reports_store import ReportsStore
from shared.contracts import ConsultationEvent, ConversationEvent, TicketEvent


async def count_conversations(
    store: ReportsStore, events: list[ConversationEvent], tz: ZoneInfo
) -> None:
    """A batch of conversation events, in the order received (a conversation's events keep
    their order: each is read against the facts the previous ones left). A handful of round
    trips per batch: the marks, one read and one write of the facts, one write per kind of
    counters. The facts are written before the counters: a failure in between undercounts
    the redelivery (its facts are known already), never counts twice."""
    fresh = await store.first_seen([e.event_id for e in events])
    todo = list({e.event_id: e for e in events if e.event_id in fresh}.values())
    if not todo:
        return
    try:
        facts = await store.facts_of({e.conversation.conversation_id for e in todo})
        tally, changes = Tally(), []
        for event in todo:
            conversation_id = event.conversation.conversation_id
            before = facts.get(conversation_id, Facts())
            change = facts_change(event)
            conversation_tally(event, before, tz, tally)
            facts[conversation_id] = before.after(change)
            changes.append((conversation_id, change))
        await store.note_conversations(changes)
        await store.add(tally)
    except BaseException:
        await store.unmark(fresh)
        raise


async def count_ticket(store: ReportsStore, event: TicketEvent, tz: ZoneInfo) -> None:
    tally = Tally()
    ticket_tally(event, tz, tally)
    await _count_once(store, event.event_id, tally)


async def count_consultation(store: ReportsStore, event: ConsultationEvent, tz: ZoneInfo) -> None:
    tally = Tally()
    consultation_tally(event, tz, tally)
    await _count_once(store, event.event_id, tally)


async def _count_once(store: ReportsStore, event_id: str, tally: Tally) -> None:
    if not tally or not await store.first_seen([event_id]):
        return
    try:
        await store.add(tally)
    except BaseException:
        await store.unmark({event_id})
        raise
