"""Hold reminders on a real MongoDB: armed by a hold request, repeated, stopped, restart-proof."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.routing.holds import HoldTimers
from services.routing.store import HoldTimerStore
from shared.mongo import Document
from tests.integration.routing.helpers import open_conversation
from tests.support import Platform, eventually

PERIOD = 0.5
T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Reminders:
    """The notify callback: records every reminder as routing would publish it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, datetime]] = []

    async def __call__(
        self, conversation_id: str, holder: str, waiting_since: datetime, reminder: int
    ) -> None:
        self.sent.append((conversation_id, holder, waiting_since))

    def for_conversation(self, conversation_id: str) -> list[tuple[str, str, datetime]]:
        return [r for r in self.sent if r[0] == conversation_id]


@pytest.fixture(scope="module")
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    yield mongo
    await mongo.close()


@pytest.fixture(scope="module")
async def db(
    client: AsyncMongoClient[Document], namespace: str
) -> AsyncIterator[AsyncDatabase[Document]]:
    name = f"{namespace}_holds_test"
    yield client[name]
    await client.drop_database(name)


@pytest.fixture
async def timers(db: AsyncDatabase[Document]) -> HoldTimers:
    holds = HoldTimers(db, reminder_seconds=PERIOD)
    await holds.ensure_indexes()
    return holds


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:8]}"


async def test_a_hold_request_fires_a_reminder_to_the_holder(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Aguarde un momento por favor", datetime.now(UTC))

    runner = asyncio.create_task(timers.run(reminders, poll_seconds=0.05))
    try:
        await eventually(lambda: _async(reminders.for_conversation(cid)))
    finally:
        runner.cancel()
    assert reminders.for_conversation(cid)[0][1] == "staff:ana"


async def test_the_reminder_repeats_while_the_wait_goes_on(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "agent:leo", "te pido que aguardes, ya te confirmo", T0)

    runner = asyncio.create_task(timers.run(reminders, poll_seconds=0.05))
    try:
        await eventually(lambda: _async(len(reminders.for_conversation(cid)) >= 3))
    finally:
        runner.cancel()
    timer = await timers.waiting(cid)
    assert timer is not None and timer["reminders_sent"] >= 3
    assert {r[2] for r in reminders.for_conversation(cid)} == {T0}


async def test_each_period_of_waiting_gives_one_more_reminder(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Me mantengo en línea", T0)

    assert await timers.fire_due(reminders, now=later(0.1)) == 0
    await timers.fire_due(reminders, now=later(0.6))
    await timers.fire_due(reminders, now=later(0.7))  # same period: nothing new
    await timers.fire_due(reminders, now=later(1.2))
    assert len(reminders.for_conversation(cid)) == 2


async def test_the_reminders_stop_when_the_holder_writes(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "aguardame un momento", T0)
    await timers.fire_due(reminders, now=later(0.6))
    await timers.on_message(cid, "staff:ana", "Listo, ya revisé tu conexión", later(0.8))

    await timers.fire_due(reminders, now=later(3600))
    assert len(reminders.for_conversation(cid)) == 1
    assert await timers.waiting(cid) is None


async def test_a_renewed_hold_postpones_the_reminder_and_keeps_the_start_of_the_wait(
    timers: HoldTimers,
) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Aguarde un momento", T0)
    await timers.on_message(
        cid, "staff:ana", "un momento más por favor, sigo revisando", later(0.4)
    )

    await timers.fire_due(reminders, now=later(0.6))
    assert reminders.for_conversation(cid) == []
    await timers.fire_due(reminders, now=later(1.0))
    assert reminders.for_conversation(cid) == [(cid, "staff:ana", T0)]


async def test_an_ordinary_message_arms_nothing(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Hola, ¿en qué te puedo ayudar?", T0)

    await timers.fire_due(reminders, now=later(3600))
    assert reminders.for_conversation(cid) == []


async def test_a_stale_redelivered_hold_request_does_not_rearm_the_timer(
    timers: HoldTimers,
) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Aguarde un momento", T0)
    await timers.on_message(cid, "staff:ana", "Ya está, el módem quedó configurado", later(1))
    await timers.on_message(cid, "staff:ana", "Aguarde un momento", T0)  # redelivery

    await timers.fire_due(reminders, now=later(3600))
    assert reminders.for_conversation(cid) == []


async def test_closing_the_conversation_cancels_the_reminder(timers: HoldTimers) -> None:
    cid = conversation()
    reminders = Reminders()
    await timers.on_message(cid, "staff:ana", "Aguarde un momento", T0)
    await timers.on_closed(cid)

    await timers.fire_due(reminders, now=later(3600))
    assert reminders.for_conversation(cid) == []


async def test_two_concurrent_runners_never_fire_the_same_reminder_twice(
    db: AsyncDatabase[Document],
) -> None:
    first = HoldTimers(db, reminder_seconds=PERIOD)
    second = HoldTimers(db, reminder_seconds=PERIOD)
    cids = [conversation() for _ in range(30)]
    for cid in cids:
        await first.on_message(cid, "staff:ana", "aguarde un momento", T0)

    reminders = Reminders()
    fired = await asyncio.gather(
        first.fire_due(reminders, now=later(0.6)), second.fire_due(reminders, now=later(0.6))
    )
    mine = [r for r in reminders.sent if r[0] in cids]
    assert sorted(r[0] for r in mine) == sorted(cids)
    assert sum(fired) >= len(cids)


async def test_two_running_loops_send_one_reminder_per_period(
    db: AsyncDatabase[Document],
) -> None:
    cid = conversation()
    first = HoldTimers(db, reminder_seconds=60)
    second = HoldTimers(db, reminder_seconds=60)
    reminders = Reminders()
    await first.on_message(
        cid, "staff:ana", "Aguarde un momento", datetime.now(UTC) - timedelta(minutes=2)
    )

    runners = [asyncio.create_task(t.run(reminders, poll_seconds=0.01)) for t in (first, second)]
    try:
        await eventually(lambda: _async(reminders.for_conversation(cid)))
        # Let both loops poll many more times within the same period.
        await asyncio.sleep(0.3)
    finally:
        for runner in runners:
            runner.cancel()
    timer = await first.waiting(cid)
    assert len(reminders.for_conversation(cid)) == 1
    assert timer is not None and timer["reminders_sent"] == 1


async def test_a_restarted_process_still_fires_the_pending_reminder(
    mongo_url: str, db: AsyncDatabase[Document]
) -> None:
    cid = conversation()
    before_restart = HoldTimers(db, reminder_seconds=PERIOD)
    await before_restart.on_message(cid, "staff:ana", "Dame unos minutos", datetime.now(UTC))
    del before_restart

    fresh_client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        after_restart = HoldTimers(fresh_client[db.name], reminder_seconds=PERIOD)
        reminders = Reminders()
        runner = asyncio.create_task(after_restart.run(reminders, poll_seconds=0.05))
        try:
            await eventually(lambda: _async(reminders.for_conversation(cid)))
        finally:
            runner.cancel()
    finally:
        await fresh_client.close()
    assert reminders.for_conversation(cid)[0][1] == "staff:ana"


async def _async(value: object) -> object:
    return value


async def test_a_staff_reply_saying_ya_vuelvo_arms_the_hold_timer(platform: Platform) -> None:
    """Through the API: the holder's "Ya vuelvo, estoy revisando" is a hold request, so the
    conversation gets a timer due one period later; the next ordinary reply clears it."""
    cid = await open_conversation(platform)
    timers = platform.db("routing")[HoldTimerStore.COLLECTION]
    reply = await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Ya vuelvo, estoy revisando"},
        headers=platform.auth("ana"),
    )
    assert reply.status_code == 200, reply.text
    timer = await timers.find_one({"_id": cid})
    assert timer is not None and timer.get("due_at") is not None
    assert timer["holder"] == "staff:ana"

    await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Listo, ya quedó resuelto"},
        headers=platform.auth("ana"),
    )
    timer = await timers.find_one({"_id": cid})
    assert timer is not None and timer.get("due_at") is None
