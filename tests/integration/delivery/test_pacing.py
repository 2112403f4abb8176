"""Pacing against the Graph stand-in, over real HTTP and the real database: replies to one
recipient are spaced by the pair rate limit (the stand-in answers 131056 to a send too
early), other recipients are not held up, a long pace parks the reply for the sweeper, and
two delivery workers share one throughput.

Each test runs deliveries of its own (`Delivery` as ingest builds it) on a database of its
own, with the pacing settings it tests; the session platform's sweeper never sees them.
Assertions are on order and on spacing with tolerances, never on speed."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from services.ingest.delivery_store import DeliveryStore
from services.ingest.outbound.channels import WhatsAppSender
from services.ingest.outbound.delivery import Delivery
from services.ingest.outbound.graph import GraphClient
from services.ingest.outbound.pacing import Limit, slot_after
from tests.fixtures.graph.standin import GraphStandIn
from tests.integration.delivery.helpers import phone, reply
from tests.support import Platform, eventually

Workers = Callable[..., list[Delivery]]


@pytest.fixture
async def workers(sending: Platform, graph: GraphStandIn) -> AsyncIterator[Workers]:
    """`workers(n, **settings)`: n delivery workers sharing one fresh database."""
    db = sending.ctx.mongo.get_database(
        f"{sending.settings.mongo_db_prefix}pace_{uuid.uuid4().hex[:8]}"
    )
    clients: list[GraphClient] = []

    def build(n: int = 1, **overrides: Any) -> list[Delivery]:
        settings = sending.settings.model_copy(update=overrides)
        built = []
        for _ in range(n):
            client = GraphClient(graph.base_url, settings.graph_api_version, 5.0)
            clients.append(client)
            senders = {"whatsapp": WhatsAppSender(settings, client)}
            built.append(Delivery(settings, sending.ctx.bus, DeliveryStore(db), senders))
        return built

    yield build
    for client in clients:
        await client.close()
    await sending.ctx.mongo.drop_database(db.name)


def digits(message: Any) -> str:
    return str(message.identity.external_id).lstrip("+")


async def test_two_replies_to_one_recipient_are_spaced_another_recipient_is_not_held_up(
    graph: GraphStandIn, workers: Workers
) -> None:
    (delivery,) = workers(
        whatsapp_pair_interval_seconds=2.0,
        whatsapp_pair_burst=1,
        delivery_retry_inline_max_seconds=5.0,
    )
    first = reply("1. Hola, te escribe el equipo de ToWebs")
    second = reply("2. ¿En qué podemos ayudarte?", to=first.identity.external_id)
    other = reply("Hola, te escribe el equipo de ToWebs")
    ana, beto = digits(first), digits(other)
    graph.limit_pair(ana, interval=1.0)  # Meta's rule, looser than our pace (HTTP jitter)

    # As the broker hands them over: three tasks at once, in the order routing published.
    await asyncio.gather(*(delivery.deliver("whatsapp", m) for m in (first, second, other)))

    assert [r.status for r in graph.attempts(ana)] == [200, 200]  # no 131056
    sent = graph.accepted(ana)
    assert [r.body["text"]["body"] for r in sent] == [first.text, second.text]
    assert sent[1].at - sent[0].at >= 1.0
    (to_beto,) = graph.accepted(beto)
    assert to_beto.at < sent[1].at  # Beto's reply did not wait behind Ana's pace


async def test_without_pacing_the_second_reply_is_refused_with_131056(
    graph: GraphStandIn, workers: Workers
) -> None:
    """The stand-in's rule, seen failing: back-to-back sends to one recipient."""
    (delivery,) = workers(whatsapp_pair_interval_seconds=0.01, delivery_retry_attempts=1)
    first = reply("1. Primera parte")
    second = reply("2. Segunda parte", to=first.identity.external_id)
    graph.limit_pair(digits(first), interval=5.0)
    for message in (first, second):
        await delivery.deliver("whatsapp", message)
    statuses = [r.status for r in graph.attempts(digits(first))]
    assert statuses == [200, 400]
    assert graph.attempts(digits(first))[1].body["text"]["body"] == second.text


async def test_a_long_pace_parks_the_replies_and_the_sweeper_sends_them_in_order(
    graph: GraphStandIn, workers: Workers
) -> None:
    (delivery,) = workers(
        whatsapp_pair_interval_seconds=1.5,
        whatsapp_pair_burst=1,
        delivery_retry_inline_max_seconds=0.1,
    )
    to = phone()
    messages = [reply(f"{i}. parte", to=to) for i in range(1, 4)]
    graph.limit_pair(to.lstrip("+"), interval=0.75)
    for message in messages:  # the consumer never sleeps a pace: it parks
        await delivery.deliver("whatsapp", message)
    parked = await delivery.store.get(messages[1].event_id)
    assert parked is not None
    assert (parked["state"], parked["reason"]) == ("retrying", "paced_pair")

    async def all_sent() -> bool:
        await delivery.sweep_once()
        states = [(await delivery.store.get(m.event_id) or {}).get("state") for m in messages]
        return states == ["sent"] * 3

    await eventually(all_sent, timeout=20)
    sent = graph.accepted(to.lstrip("+"))
    assert [r.body["text"]["body"] for r in sent] == [m.text for m in messages]
    assert [r.status for r in graph.attempts(to.lstrip("+"))] == [200, 200, 200]
    assert all(b.at - a.at >= 0.75 for a, b in itertools.pairwise(sent))


def record_slots(delivery: Delivery, kind: str, slots: list[float]) -> None:
    """Note the time each send of `kind` was allowed to go, as its reservation decided:
    event-loop lag cannot bunch these."""
    reserve = delivery.pacer.reserve

    async def recording(limit: Limit, now: float, max_wait: float) -> tuple[float, bool]:
        tat, reserved = await reserve(limit, now, max_wait)
        if limit.kind == kind and reserved:
            slots.append(now + slot_after(tat, reserved, now, limit).wait)
        return tat, reserved

    delivery.pacer.reserve = recording


async def test_two_delivery_workers_share_the_number_s_throughput(
    graph: GraphStandIn, workers: Workers
) -> None:
    """Two workers (two replicas' consumers) over one database: 2 sends/s between them
    (each on its own would let 2/s through, 4/s together)."""
    replicas = workers(2, whatsapp_throughput_tier=2, delivery_retry_inline_max_seconds=10.0)
    slots: list[float] = []
    for delivery in replicas:
        record_slots(delivery, "throughput", slots)
    messages = [reply(f"Aviso {i}") for i in range(8)]
    await asyncio.gather(*(replicas[i % 2].deliver("whatsapp", m) for i, m in enumerate(messages)))
    assert all(graph.accepted(digits(m)) for m in messages)
    # One schedule for both: every slot half a second after the one before, whichever
    # worker took it; the provider saw them spread over at least that long.
    slots.sort()
    assert len(slots) == 8
    assert all(b - a >= 0.5 - 1e-6 for a, b in itertools.pairwise(slots)), slots
    moments = sorted(graph.accepted(digits(m))[0].at for m in messages)
    assert moments[-1] - moments[0] >= 3.0  # 8 sends at 2/s: 3.5 s from first to last
