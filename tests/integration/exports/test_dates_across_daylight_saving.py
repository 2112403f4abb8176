"""The exports date filters, through the API, in a zone with daylight saving time.

The platform's default zone (Buenos Aires) has none, so only a platform configured for
another zone shows whether a day is taken as local midnight to local midnight: in Madrid
2024-03-31 lasts 23 hours (CET, UTC+1, until 02:00; then CEST, UTC+2).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.integration.exports.helpers import rows_when, table
from tests.support import Platform
from tests.unit.exports.factories import at, service_event, uid


@pytest.fixture
async def exports_in_madrid(settings: Settings) -> AsyncIterator[Platform]:
    ns = f"z{uuid.uuid4().hex[:10]}"
    own = settings.model_copy(
        update={"bus_namespace": ns, "mongo_db_prefix": f"{ns}_", "tz": "Europe/Madrid"}
    )
    plat = Platform(own, names=("exports",))
    await plat.start()
    try:
        yield plat
    finally:
        await plat.stop()
        await _delete_namespace(own)


async def test_a_23_hour_day_is_filtered_and_shown_in_local_time(exports_in_madrid: Platform):
    plat = exports_in_madrid
    token = f"Zq{uid()}"
    created = {
        "sabado-tarde": "2024-03-30T22:59",  # 23:59 CET on the 30th
        "domingo-medianoche": "2024-03-30T23:00",  # 00:00 CET on the 31st
        "domingo-noche": "2024-03-31T21:59",  # 23:59 CEST on the 31st
        "lunes-medianoche": "2024-03-31T22:00",  # 00:00 CEST on April 1st
    }
    for name, moment in created.items():
        await plat.ctx.bus.publish(service_event(name=f"{name} {token}", created_at=at(moment)))
    await rows_when(plat, "servicios", 4, q=token, estado="todos")

    async def names(**params: str) -> dict[str, str]:
        body = await table(plat, "servicios", q=token, estado="todos", **params)
        return {r["cliente"].removesuffix(f" {token}"): r["fecha"] for r in body["rows"]}

    assert await names(desde="2024-03-31", hasta="2024-03-31") == {
        "domingo-medianoche": "31/03/2024 00:00",
        "domingo-noche": "31/03/2024 23:59",
    }
    assert list(await names(hasta="2024-03-30")) == ["sabado-tarde"]
    assert list(await names(desde="2024-04-01")) == ["lunes-medianoche"]
