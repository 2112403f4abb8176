"""A send rate per sender (WhatsApp phone number, Messenger page), shared by all replicas.

Fixed one-second windows counted in MongoDB: each send `$inc`s the counter of
`<sender>:<current epoch second>` (an upsert, atomic on the server), and a send whose count
exceeds the limit waits for the next second and counts again. Every replica counts in the
same document, so N replicas together stay under the limit; the cost is one round trip per
send. A fixed window can let up to 2x the rate through across a window boundary; Meta
measures throughput over longer periods, so the default 80/s tier is respected on average.
Replicas' clocks must agree to well under a second (NTP).
"""

from __future__ import annotations

import asyncio
import time

from services.ingest.delivery_store import DeliveryStore
from shared.contracts.base import utcnow


class SendRate:
    def __init__(self, store: DeliveryStore) -> None:
        self.store = store

    async def acquire(self, sender_key: str, per_second: int) -> float:
        """Wait until this sender may send one more message; returns the seconds waited."""
        waited = 0.0
        while True:
            now = time.time()
            second = int(now)
            count = await self.store.count_send(sender_key, second, utcnow())
            if per_second <= 0 or count <= per_second:
                return waited
            pause = second + 1 - now
            await asyncio.sleep(pause)
            waited += pause
