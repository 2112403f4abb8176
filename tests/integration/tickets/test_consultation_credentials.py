"""A credential typed in the portal's consultation form is stored masked (the original only
sealed), never published in cleartext, and never shown — not even as the description of the
service the consultation turns into."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.secrets import MASK, SecretBox
from tests.integration.ingest.conftest import Probe
from tests.integration.tickets.helpers import unique
from tests.support import Platform, eventually


@pytest.fixture
async def probe(platform: Platform) -> AsyncIterator[Probe]:
    probe = Probe(platform, ("consultation.#", "ticket.#"))
    await probe.start()
    yield probe
    await probe.stop()


def form(password: str) -> dict[str, Any]:
    return {
        "name": "Valeria Sánchez",
        "document_number": "30.555.777",
        "email": "vsanchez@example.com",
        "subject": f"Clave: {password}",
        "text": f"No puedo entrar. El usuario es vsanchez y la contraseña es: {password}",
    }


async def test_a_password_in_a_consultation_is_sealed_and_never_published_or_shown(
    platform: Platform, probe: Probe
) -> None:
    password = f"Rio{unique('x')[-6:]}!"
    created = await platform.http.post(
        "/api/consultations",
        json=form(password),
        headers={"Authorization": f"Bearer {platform.settings.portal_token}"},
    )
    assert created.status_code == 201, created.text
    consultation = created.json()
    cid = consultation["consultation_id"]
    assert consultation["text"] == (
        f"No puedo entrar. El usuario es vsanchez y la contraseña es: {MASK}"
    )
    assert consultation["subject"] == f"Clave: {MASK}"

    stored = await platform.db("tickets")["consultations"].find_one({"_id": cid})
    assert stored is not None
    box = SecretBox(platform.settings.secrets_key)
    assert box.open(stored["sealed_text"]) == form(password)["text"]
    assert box.open(stored["sealed_subject"]) == form(password)["subject"]
    assert password not in json.dumps(
        {k: v for k, v in stored.items() if "sealed" not in k}, default=str
    )

    staff = platform.auth("ana", "admin")
    shown = await platform.http.get(f"/api/consultations/{cid}", headers=staff)
    listed = await platform.http.get("/api/consultations", params={"q": "Valeria"}, headers=staff)
    assert password not in shown.text and password not in listed.text
    assert MASK in shown.json()["text"]

    converted = await platform.http.post(
        f"/api/consultations/{cid}/service", json={"reason": "sin acceso"}, headers=staff
    )
    assert converted.status_code == 201, converted.text
    service = converted.json()["service"]
    assert service["description"] == (
        f"Clave: {MASK}\n\nNo puedo entrar. El usuario es vsanchez y la contraseña es: {MASK}"
    )
    agent_view = await platform.http.get(
        f"/api/services/{service['service_id']}", headers=platform.auth("juan", "agent")
    )
    assert agent_view.status_code == 200 and password not in agent_view.text

    async def every_event_arrived() -> bool:
        keys = {json.loads(b).get("event_id", "").split(":")[0] for b in probe.bodies}
        wanted = {"consultation.created", "consultation.converted", "ticket.created"}
        return wanted <= keys and any(service["service_id"].encode() in b for b in probe.bodies)

    await eventually(every_event_arrived, timeout=15)
    mine = [b for b in probe.bodies if cid.encode() in b]
    assert len(mine) >= 3
    assert all(password.encode() not in body for body in probe.bodies)
    outbox = platform.db("tickets")["outbox"]
    copies = await outbox.find(
        {"$or": [{"body.consultation.consultation_id": cid}, {"body.service.consultation_id": cid}]}
    ).to_list(None)
    assert len(copies) >= 3
    assert all(password not in json.dumps(c["body"], default=str) for c in copies)


async def test_a_consultation_stored_in_cleartext_before_sealing_is_shown_masked(
    platform: Platform,
) -> None:
    cid = unique("legacy")
    now = datetime.now(UTC)
    await platform.db("tickets")["consultations"].insert_one(
        {
            "_id": cid,
            "consultation_id": cid,
            "status": "abierta",
            "name": "Legado Pérez",
            "email": "legado@example.com",
            "subject": "Acceso",
            "text": "mi clave es Legado#77",
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "search_keys": ["legado", "perez"],
        }
    )
    staff = platform.auth("ana", "admin")
    shown = await platform.http.get(f"/api/consultations/{cid}", headers=staff)
    assert shown.json()["text"] == f"mi clave es {MASK}"
    converted = await platform.http.post(
        f"/api/consultations/{cid}/service", json={"reason": "sin acceso"}, headers=staff
    )
    assert converted.status_code == 201, converted.text
    assert "Legado#77" not in converted.text
