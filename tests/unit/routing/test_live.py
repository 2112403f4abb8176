"""The live feed's pure parts: what a console receives, who receives it, replay on reconnect."""

from __future__ import annotations

import json

from services.routing.live import RESYNC, Listener, LiveEvent, LiveFeed, live_event, sse
from shared.auth import User

ANA = User("ana", "staff")
BETO = User("beto", "staff")


def _body(action: str = "taken", holder: str | None = "staff:ana") -> bytes:
    return json.dumps(
        {
            "event_id": "e1",
            "occurred_at": "2026-01-01T10:00:00Z",
            "action": action,
            "actor": "staff:ana",
            "note": "internal reasons",
            "text": "what the customer wrote",
            "conversation": {
                "conversation_id": "c1",
                "channel": "whatsapp",
                "identity": {"channel": "whatsapp", "external_id": "+5491100000000"},
                "status": "abierta",
                "holder": holder,
                "version": 7,
                "opened_at": "2026-01-01T09:00:00Z",
            },
        }
    ).encode()


def test_a_conversation_event_becomes_a_change_without_message_or_note_text():
    event = live_event("p-1", _body())
    assert event is not None
    sent = json.loads(event.payload(ANA))
    assert sent["action"] == "taken" and sent["conversation"]["holder"] == "staff:ana"
    assert sent["conversation"]["version"] == 7
    assert "note" not in sent and "text" not in sent and "identity" not in sent["conversation"]


def test_mine_is_true_only_for_the_holder():
    event = live_event("p-1", _body())
    assert event is not None
    assert json.loads(event.payload(ANA))["mine"] is True
    assert json.loads(event.payload(BETO))["mine"] is False


def test_every_staff_role_sees_changes_but_a_hold_reminder_goes_to_the_holder_alone():
    taken = live_event("p-1", _body("taken"))
    reminder = live_event("p-2", _body("hold_reminder"))
    assert taken is not None and reminder is not None
    for role in ("agent", "staff", "admin", "central"):
        assert taken.visible_to(User("x", role))  # type: ignore[arg-type]
    assert reminder.visible_to(ANA) and not reminder.visible_to(BETO)


def test_an_unreadable_body_is_ignored():
    assert live_event("p-1", b"not json") is None
    assert live_event("p-1", b'{"action": "taken"}') is None


def test_a_frame_carries_id_event_and_one_data_line():
    assert (
        sse("conversation", '{"a":1}', "p-3") == 'id: p-3\nevent: conversation\ndata: {"a":1}\n\n'
    )


def _feed_with(count: int) -> LiveFeed:
    feed = LiveFeed()
    for seq in range(1, count + 1):
        feed._recent.append(LiveEvent(f"{feed.process}-{seq}", "taken", "x", None, {}))
    return feed


def test_a_reconnection_to_the_same_process_replays_what_it_missed():
    feed = _feed_with(5)
    missed = feed.missed_since(f"{feed.process}-3")
    assert missed is not None and [e.id for e in missed] == [
        f"{feed.process}-4",
        f"{feed.process}-5",
    ]
    assert feed.missed_since(None) == []


def test_an_id_from_another_process_or_older_than_the_buffer_asks_for_a_resync():
    feed = _feed_with(5)
    assert feed.missed_since("otherproc-3") is None
    feed._recent.popleft()
    feed._recent.popleft()  # the buffer now starts at 3: an id of 1 left a gap
    assert feed.missed_since(f"{feed.process}-1") is None
    assert feed.missed_since("garbage") is None


def test_after_a_broker_reconnection_every_console_refetches_and_old_ids_are_void():
    feed = _feed_with(3)
    before = feed.process
    listener = Listener(ANA)
    feed._listeners.add(listener)
    feed._reconnected(object())
    assert listener.queue.get_nowait() is RESYNC
    assert feed.process != before
    assert feed.missed_since(f"{before}-2") is None


def test_an_event_of_a_version_this_process_cannot_read_is_not_shown() -> None:
    current = json.loads(_body())
    assert live_event("p-1", json.dumps({**current, "schema_version": 2}).encode()) is not None
    assert live_event("p-1", _body()) is not None  # the previous version: no field
    future = json.dumps({**current, "schema_version": 99}).encode()
    assert live_event("p-1", future) is None
