"""Issue 14 "Who may do what" and issue 16.6: one role table (shared.auth.POLICY) decides
every route; each resource is read under one policy wherever it is read; actions are
recorded with the real role."""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import APIRoute

from shared.auth import ROLES, Allowed, Role, roles_for
from tests.integration.customers.conftest import EventProbe, new_customer
from tests.integration.routing.helpers import open_conversation
from tests.support import Platform


async def test_agents_tag_comment_update_and_merge_as_the_seeds_say(
    platform: Platform, customer_events: EventProbe
):
    juan = f"juan{uuid.uuid4().hex[:6]}"
    agent = platform.auth(juan, "agent")
    customer, _ = await new_customer(platform, customer_events, "Ana Seed")
    other, _ = await new_customer(platform, customer_events, "Ana Seed Duplicada")
    base = f"/api/customers/{customer}"

    tagged = await platform.http.post(
        f"{base}/tags", json={"tag": "svip", "note": "cliente de 10 años"}, headers=agent
    )
    assert tagged.status_code == 201, tagged.text
    commented = await platform.http.post(
        f"{base}/comments", json={"text": "llamó por la factura"}, headers=agent
    )
    assert commented.status_code == 201, commented.text
    updated = await platform.http.patch(base, json={"company": "ToWebs"}, headers=agent)
    assert updated.status_code == 200, updated.text
    merged = await platform.http.post(
        f"{base}/merge", json={"other_id": other, "note": "misma persona"}, headers=agent
    )
    assert merged.status_code == 200, merged.text

    # Recorded as the agent, not as `staff:<id>`.
    history = (await platform.http.get(f"{base}/tags/history", headers=agent)).json()
    assert [h["actor"] for h in history if h["tag"] == "svip"] == [f"agent:{juan}"]
    audit = (await platform.http.get(f"{base}/audit", headers=agent)).json()
    assert {a["actor"] for a in audit} >= {f"agent:{juan}"}
    assert not any(a["actor"] == f"staff:{juan}" for a in audit)


@pytest.mark.parametrize("role", ROLES)
async def test_a_customers_data_is_read_under_one_policy_export_included(
    platform: Platform, customer_events: EventProbe, role: Role
):
    customer, _ = await new_customer(platform, customer_events, "Lectura Única")
    headers = platform.auth(f"r{uuid.uuid4().hex[:6]}", role)
    paths = ["", "/audit", "/comments", "/tags/history", "/suggestions", "/export"]
    codes = {
        p: (await platform.http.get(f"/api/customers/{customer}{p}", headers=headers)).status_code
        for p in paths
    }
    expected = 200 if role in roles_for("customers.read") else 403
    assert codes == dict.fromkeys(paths, expected)


async def _consultation(platform: Platform) -> str:
    form = {
        "name": f"Portal {uuid.uuid4().hex[:6]}",
        "document_number": "30.555.777",
        "email": "portal@example.com",
        "subject": "Factura",
        "text": "Me llegaron dos facturas.",
    }
    portal = {"Authorization": f"Bearer {platform.settings.portal_token}"}
    created = await platform.http.post("/api/consultations", json=form, headers=portal)
    assert created.status_code == 201, created.text
    return str(created.json()["consultation_id"])


@pytest.mark.parametrize("role", ROLES)
async def test_consultations_are_read_under_one_policy_in_the_api_and_the_table(
    platform: Platform, role: Role
):
    consultation = await _consultation(platform)
    headers = platform.auth(f"c{uuid.uuid4().hex[:6]}", role)
    paths = [
        "/api/consultations",
        f"/api/consultations/{consultation}",
        "/api/tables/consultas",
        "/api/tables/consultas/copy",
        "/api/tables/consultas/print",
    ]
    codes = {p: (await platform.http.get(p, headers=headers)).status_code for p in paths}
    expected = 200 if role in roles_for("consultations.read") else 403
    assert codes == dict.fromkeys(paths, expected)


async def test_actions_are_recorded_with_the_real_role(platform: Platform):
    created = await platform.http.post(
        "/api/services",
        json={
            "conversation_id": f"conv-{uuid.uuid4().hex[:8]}",
            "reason": "sin internet",
            "customer_name": "Ana",
        },
        headers=platform.auth("juan", "agent"),
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "agent:juan"
    confirmed = await platform.http.post(
        f"/api/services/{created.json()['service_id']}/confirm",
        headers=platform.auth("oficina", "central"),
    )
    assert confirmed.json()["confirmed_by"] == "central:oficina"

    conversation = await open_conversation(platform)
    taken = await platform.http.post(
        f"/api/conversations/{conversation}/take", headers=platform.auth("root", "admin")
    )
    assert taken.json()["conversation"]["holder"] == "admin:root"
    events = await platform.http.get(
        f"/api/conversations/{conversation}/events", headers=platform.auth()
    )
    assert [e["actor"] for e in events.json() if e["action"] == "taken"] == ["admin:root"]


async def test_a_taken_conversation_is_returned_or_finished_only_by_its_holder(
    platform: Platform,
):
    conversation = await open_conversation(platform)
    url = f"/api/conversations/{conversation}"
    ana, root = platform.auth("ana", "staff"), platform.auth("root", "admin")
    assert (await platform.http.post(f"{url}/take", headers=ana)).status_code == 200
    for action in ("return", "close", "finish"):
        refused = await platform.http.post(f"{url}/{action}", headers=root)
        assert refused.status_code == 403, action
    note = await platform.http.post(
        f"{url}/notes", json={"text": "Lara, seguí vos", "to": "lara"}, headers=root
    )
    assert note.status_code == 403
    reassigned = await platform.http.post(
        f"{url}/assign", json={"to": "admin:root", "note": "Ana terminó su turno"}, headers=root
    )
    assert reassigned.status_code == 200, reassigned.text
    assert (await platform.http.post(f"{url}/close", headers=root)).status_code == 200


def _permissions(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Allowed):
            found.add(dependant.call.action)
        if getattr(dependant.call, "__name__", "") == "permitted":
            found.add("exports.TABLE_PERMISSION")
        stack.extend(dependant.dependencies)
    return found


async def test_every_staff_route_declares_its_permission_from_the_role_table(
    platform: Platform,
):
    undeclared = [
        f"{sorted(r.methods)} {r.path}"
        for r in platform.app.routes
        if isinstance(r, APIRoute)
        and r.path.startswith("/api/")
        and not (r.path == "/api/consultations" and "POST" in r.methods)
        and not _permissions(r)
    ]
    assert undeclared == []
