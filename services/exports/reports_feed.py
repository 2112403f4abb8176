"""Use cases feeding the reports read model: each event counted once (its id is marked
first), then its counters added in one bulk write per kind of slot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.exports.reports import (
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
    their order: each one's facts are read as the previous ones left them)."""
    fresh = await store.first_seen([e.event_id for e in events])
    tally, counted = Tally(), set[str]()
    try:
        for event in events:
            if event.event_id not in fresh or event.event_id in counted:
                continue  # counted before, or twice in this batch
            counted.add(event.event_id)
            before = await store.note_conversation(
                event.conversation.conversation_id, facts_change(event)
            )
            conversation_tally(event, before, tz, tally)
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
