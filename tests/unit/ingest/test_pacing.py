"""The send schedules (outbound/pacing.py) with an injected clock: a GCRA per limit, the
same decision the store applies on the server, and which limits each kind of part takes."""

from __future__ import annotations

import itertools

from services.ingest.outbound import messenger
from services.ingest.outbound.channels import MessengerSender, WhatsAppSender
from services.ingest.outbound.graph import GraphClient
from services.ingest.outbound.pacing import Limit, Pacer, decide, slot_after
from tests.settings import isolated_settings

PAIR = Limit("pair:whatsapp:1:5491155550000", interval=6.0, burst=3, kind="pair")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Schedules:
    """What the store does, in memory: `decide` applied atomically to a stored `tat`."""

    def __init__(self) -> None:
        self.tat: dict[str, float] = {}

    async def reserve(self, limit: Limit, now: float, max_wait: float) -> tuple[float, bool]:
        slot, self.tat[limit.key] = decide(self.tat.get(limit.key), now, limit, max_wait)
        return self.tat[limit.key], slot.reserved


def test_a_burst_goes_at_once_then_one_send_per_interval() -> None:
    tat: float | None = None
    waits = []
    for _ in range(6):
        slot, tat = decide(tat, 0.0, PAIR, max_wait=float("inf"))
        assert slot.reserved
        waits.append(slot.wait)
    assert waits == [0.0, 0.0, 0.0, 6.0, 12.0, 18.0]


def test_after_a_quiet_spell_the_burst_is_available_again() -> None:
    tat: float | None = None
    for _ in range(3):
        _, tat = decide(tat, 0.0, PAIR, max_wait=0.0)
    slot, _ = decide(tat, 0.0, PAIR, max_wait=0.0)
    assert not slot.reserved and slot.wait == 6.0
    slot, _ = decide(tat, 18.0, PAIR, max_wait=0.0)  # three intervals later: free again
    assert slot.reserved and slot.wait == 0.0


def test_a_wait_longer_than_max_wait_reserves_nothing() -> None:
    tat = 10.0
    slot, after = decide(tat, 0.0, Limit("k", 1.0), max_wait=5.0)
    assert (slot.reserved, slot.wait, after) == (False, 10.0, 10.0)


def test_no_one_second_window_holds_more_than_the_rate() -> None:
    """The fixed one-second counter let 2x through across a window's edge; a schedule
    spaces sends evenly, whoever asks."""
    limit = Limit.per_second("whatsapp:1", 4)
    tat: float | None = None
    moments = []
    for now in [0.9, 0.95, 0.99, 0.999, 1.0, 1.01, 1.02, 1.03]:  # a burst at the edge
        slot, tat = decide(tat, now, limit, max_wait=float("inf"))
        moments.append(now + slot.wait)
    for start in moments:
        assert sum(start <= m < start + 1.0 for m in moments) <= 4


async def test_the_pacer_sleeps_until_its_slot_and_shares_the_schedule() -> None:
    clock = FakeClock()
    schedules = Schedules()
    replicas = [Pacer(schedules.reserve, clock, clock.sleep) for _ in range(2)]
    limit = Limit("pair:x", interval=6.0, burst=1, kind="pair")
    sent = []
    for pacer in itertools.islice(itertools.cycle(replicas), 4):
        slot = await pacer.take(limit, max_wait=60.0)
        assert slot.reserved
        sent.append(clock.now)
    assert [b - a for a, b in itertools.pairwise(sent)] == [6.0, 6.0, 6.0]


async def test_the_pacer_answers_how_long_to_park_without_reserving() -> None:
    clock = FakeClock()
    schedules = Schedules()
    pacer = Pacer(schedules.reserve, clock, clock.sleep)
    limit = Limit("pair:y", interval=6.0, burst=1, kind="pair")
    assert (await pacer.take(limit, max_wait=1.0)).reserved
    parked = await pacer.take(limit, max_wait=1.0)
    assert not parked.reserved and parked.wait == 6.0
    assert clock.slept == []  # nothing slept, nothing reserved: the next try gets the slot
    clock.now += parked.wait
    assert (await pacer.take(limit, max_wait=1.0)).reserved


def test_whatsapp_parts_take_the_recipient_s_pair_rate_then_the_number_s_throughput() -> None:
    settings = isolated_settings(
        whatsapp_phone_number_id="111",
        whatsapp_throughput_tier=1000,
        whatsapp_pair_interval_seconds=6.0,
        whatsapp_pair_burst=2,
    )
    sender = WhatsAppSender(settings, GraphClient("http://127.0.0.1:1", "v21.0", 1.0))
    pair, throughput = sender.limits({"to": "5491155550000", "type": "text"})
    assert pair == Limit("pair:whatsapp:111:5491155550000", 6.0, 2, "pair")
    assert throughput == Limit("whatsapp:111", 1 / 1000, 1, "throughput")
    shared = settings.model_copy(update={"whatsapp_send_rate_per_second": 60})
    sender = WhatsAppSender(shared, sender.graph)
    assert sender.limits({"to": "1"})[1].interval == 1 / 60  # the share replies may use


def test_messenger_audio_and_video_take_the_10_per_second_limit_text_the_300() -> None:
    settings = isolated_settings()
    sender = MessengerSender(settings, GraphClient("http://127.0.0.1:1", "v21.0", 1.0))
    envelope = messenger.envelope("123", human_agent=False)

    def part(kind: str) -> dict[str, object]:
        payload = {"url": "https://x.example/a", "is_reusable": True}
        return {**envelope, "message": {"attachment": {"type": kind, "payload": payload}}}

    text = {**envelope, "message": {"text": "hola"}}
    assert sender.limits(text) == [Limit("messenger:page:text", 1 / 300, 1, "text")]
    assert sender.limits(part("image"))[0].key == "messenger:page:text"
    for kind in ("audio", "video"):
        assert sender.limits(part(kind)) == [Limit("messenger:page:media", 1 / 10, 1, "media")]


def test_the_slot_is_recovered_from_what_the_reservation_left() -> None:
    """The store answers with the `tat` after its update: the same slot as `decide`."""
    for tat in (None, 990.0, 1_000.0, 1_004.0, 1_030.0):
        for max_wait in (0.0, 5.0, 60.0):
            slot, after = decide(tat, 1_000.0, PAIR, max_wait)
            assert slot_after(after, slot.reserved, 1_000.0, PAIR) == slot
