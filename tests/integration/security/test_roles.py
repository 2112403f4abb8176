"""Issue 14 "Who may do what" and issue 16.6: one role table (shared.auth.POLICY) decides
every route; each resource is read under one policy wherever it is read; actions are
recorded with the real role."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.auth import ROLES, Role, role_table_markdown, roles_for
from tests.integration.customers.conftest import EventProbe, new_customer
from tests.integration.routing.helpers import (
    customer_writes,
    message_stored,
    new_identity,
    open_conversation,
)
from tests.integration.security.routes import api_routes, permissions, who
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
    # An admin is no assignment target (issue 22): the conversation goes to a staff member.
    beto = f"beto{uuid.uuid4().hex[:6]}"
    await platform.person(beto, "staff")
    reassigned = await platform.http.post(
        f"{url}/assign", json={"to": f"staff:{beto}", "note": "Ana terminó su turno"}, headers=root
    )
    assert reassigned.status_code == 200, reassigned.text
    closed = await platform.http.post(f"{url}/close", headers=platform.auth(beto, "staff"))
    assert closed.status_code == 200


async def test_reveal_needs_the_holders_real_role_and_an_open_conversation(platform: Platform):
    user = f"rev{uuid.uuid4().hex[:6]}"
    msg = await customer_writes(platform, new_identity(), "mi contraseña: hunter22 gracias")
    stored = await message_stored(platform, msg.event_id)
    cid = stored["conversation_id"]
    url = f"/api/conversations/{cid}/messages/{msg.event_id}/reveal"
    holder = platform.auth(user, "staff")
    assert (await platform.http.post(f"/api/conversations/{cid}/take", headers=holder)).is_success
    same_sub_as_admin = await platform.http.post(url, headers=platform.auth(user, "admin"))
    assert same_sub_as_admin.status_code == 403
    assert (await platform.http.post(url, headers=holder)).status_code == 200
    assert (await platform.http.post(f"/api/conversations/{cid}/close", headers=holder)).is_success
    after_close = await platform.http.post(url, headers=holder)
    assert after_close.status_code == 409
    assert "hunter22" not in after_close.text


async def test_every_staff_route_declares_its_permission_from_the_role_table(
    platform: Platform,
):
    routes = [r for r in api_routes(platform.app.routes) if r.path.startswith("/api/")]
    assert len(routes) > 50
    undeclared = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if not (r.path == "/api/consultations" and "POST" in r.methods)
        and r.path != "/api/access/login"  # the password is the credential
        and not permissions(r)
    ]
    assert undeclared == []


README = Path(__file__).resolve().parents[3] / "README.md"


async def test_the_readme_says_what_the_role_table_does(platform: Platform):
    readme = README.read_text()
    assert role_table_markdown() in readme
    for route in api_routes(platform.app.routes):
        cell = who(route)
        if cell is None:
            continue
        for method in route.methods:
            path = route.path.replace(":path", "")
            row = f"| {method} | `{path}` | "
            assert row in readme, row
            documented = readme.split(row, 1)[1].split(" |", 1)[0]
            assert documented in (cell, "refused (405)"), (method, path, documented, cell)
