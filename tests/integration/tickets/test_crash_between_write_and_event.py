"""A process that dies between writing a service and staging its event loses nothing: the
document carries an `unpublished` flag in the same write, and the republisher announces
the latest state."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.support import Platform, eventually


async def test_a_change_written_without_its_event_is_republished(platform: Platform):
    auth = platform.auth("ana", "staff")
    suffix = uuid.uuid4().hex[:8]
    created = await platform.http.post(
        "/api/services",
        json={
            "call_sid": f"CA{uuid.uuid4().hex}",
            "reason": "Sin conexión",
            "customer_name": f"Rocío Caída {suffix}",
            "document_number": "27111222",
        },
        headers=auth,
    )
    assert created.status_code == 201
    service = created.json()
    services = platform.db("tickets")["services"]

    # What a process killed right after its compare-and-set leaves behind: the new state,
    # flagged, and no event for it.
    stale = service["updated_at"]
    await services.update_one(
        {"_id": service["service_id"], "version": service["version"]},
        {
            "$set": {"status": "confirmado", "unpublished": True},
            "$inc": {"version": 1},
        },
    )
    await services.update_one(
        {"_id": service["service_id"]}, {"$set": {"updated_at": _minus(stale, 60)}}
    )

    async def exported_as_confirmed() -> dict | None:
        rows = await platform.http.get(
            "/api/tables/servicios",
            params={"estado": "todos", "q": suffix},
            headers=auth,
        )
        matching = [r for r in rows.json()["rows"] if r.get("numero") == service["number"]]
        if not matching:
            matching = [r for r in rows.json()["rows"] if service["number"] in r.values()]
        shown = [str(v).upper() for v in matching[0].values()] if matching else []
        return matching[0] if "CONFIRMADO" in shown else None  # the state in words

    await eventually(exported_as_confirmed, timeout=60)
    doc = await services.find_one({"_id": service["service_id"]})
    assert "unpublished" not in doc


def _minus(iso: str, seconds: int) -> object:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(seconds=seconds)
