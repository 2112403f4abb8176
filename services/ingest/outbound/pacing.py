"""Paced sends: a schedule per limit (a sender's throughput, one recipient's pair rate),
shared by every replica through one MongoDB document per limit.

Each limit is a GCRA (the "virtual scheduling" form of a token bucket): the document holds
`tat`, the theoretical time at which the limit is free again. A send at `now` may go at
`max(now, tat - (burst - 1) * interval)` and pushes `tat` to `max(tat, now) + interval`:
`burst` sends go at once after a quiet spell, then one per `interval`, and over any window
of `interval * k` seconds at most `burst - 1 + k` go. The reservation is one atomic
update (an aggregation-pipeline update computes the new `tat` on the server), so two
replicas reserving at once get two different slots: unlike a fixed one-second counter it
never lets twice the rate through across a window's edge, and unlike dividing the rate by
REPLICA_COUNT it stays right when replicas are added, stopped or idle (correct under 2
replicas rather than merely close). The price is one round trip per send and per limit;
replicas' clocks must agree to well under an interval (NTP).

A reservation is only made when its wait is short enough to sleep through
(`max_wait`); otherwise nothing is reserved and the caller parks the reply until about
when the limit frees up (`Paced`), so a recipient's backlog never holds a consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One schedule: `key` names it (no secret in it), one send per `interval` seconds
    sustained, `burst` at once after a quiet spell."""

    key: str
    interval: float
    burst: int = 1
    kind: str = "throughput"  # metrics label: throughput | pair | media | text

    @staticmethod
    def per_second(key: str, rate: int, kind: str = "throughput") -> Limit:
        return Limit(key, 1.0 / rate, 1, kind)

    @property
    def tolerance(self) -> float:
        """How far ahead of `tat` a send may go: the burst, in seconds."""
        return (self.burst - 1) * self.interval


@dataclass(frozen=True)
class Slot:
    """The answer for one send: reserved (sleep `wait`, then send) or not (park `wait`)."""

    reserved: bool
    wait: float


@dataclass(frozen=True)
class Paced:
    """A part that may not go yet: the delivery is parked for `wait` seconds."""

    limit: Limit
    wait: float


def decide(tat: float | None, now: float, limit: Limit, max_wait: float) -> tuple[Slot, float]:
    """The slot for a send at `now` given the stored `tat` (None: never used), and the new
    `tat` (unchanged when not reserved). The store computes the same on the server."""
    base = now if tat is None else max(tat, now)
    wait = base - (now + limit.tolerance)  # the same arithmetic as the server's
    if wait > max_wait:
        return Slot(False, wait), base
    return Slot(True, max(0.0, wait)), base + limit.interval


def slot_after(tat: float, reserved: bool, now: float, limit: Limit) -> Slot:
    """The slot a reservation at `now` got, from the `tat` it left and whether it reserved
    (the store answers with both): `decide`'s slot, recovered from its result."""
    if reserved:
        return Slot(True, max(0.0, tat - limit.interval - (now + limit.tolerance)))
    return Slot(False, tat - (now + limit.tolerance))


# (limit, now, max_wait) -> (the `tat` after the update, whether this call reserved).
Reserve = Callable[[Limit, float, float], Awaitable[tuple[float, bool]]]


class Pacer:
    """Reserves slots through `reserve(limit, now, max_wait)`, which atomically applies
    `decide` to the stored `tat` (the store's `reserve_slot`). `clock` and `sleep` are
    injectable for tests."""

    def __init__(
        self,
        reserve: Reserve,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.reserve = reserve
        self.clock = clock
        self.sleep = sleep

    async def take(self, limit: Limit, max_wait: float) -> Slot:
        """Reserve a slot and sleep until it, or answer how long to park (not reserved)."""
        now = self.clock()
        tat, reserved = await self.reserve(limit, now, max_wait)
        slot = slot_after(tat, reserved, now, limit)
        if slot.reserved and slot.wait > 0:
            await self.sleep(slot.wait)
        return slot
