"""Issue 22 item 1: accounts and sign-in. Users with a role and an Argon2 password managed
by an admin; the console's session cookie (HttpOnly, SameSite=Strict) with CSRF protection
on writes; sign-out ends the session on the server; failed sign-ins throttled per user and
address and audited; the bearer JWT of scripts unaffected; assignments only to active agents
and staff of the directory.

Each test signs in with a client of its own (its own cookie jar), over the session platform.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.access import Access, AccessStore
from shared.access.people import AccountRefused
from shared.auth import User
from shared.config import Settings
from shared.revocations import Revocations
from tests.integration.routing.helpers import open_conversation
from tests.support import Platform

ADMIN = User(id="tests", role="admin")


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def browser(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, like one browser."""
    transport = httpx.ASGITransport(app=platform.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await client.post("/api/access/login", json={"user": user, "password": password})


async def test_signing_in_sets_an_httponly_strict_session_and_me_names_the_user(
    platform: Platform, browser: httpx.AsyncClient
):
    luis = new_id("luis")
    password = await platform.person(luis, "agent", "Luis Pérez")
    signed = await login(browser, luis, password)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["id"], body["name"], body["role"]) == (luis, "Luis Pérez", "agent")
    cookies = signed.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("cc_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
    csrf = next(c for c in cookies if c.startswith("cc_csrf="))
    assert "HttpOnly" not in csrf and body["csrf_token"] in csrf
    assert password not in signed.text

    me = await browser.get("/api/me")
    assert me.status_code == 200, me.text
    assert me.json() == {"id": luis, "name": "Luis Pérez", "role": "agent"}
    # The stored hash is Argon2id, never the password.
    stored = await platform.app.state.access.store.user(luis)
    assert stored["password_hash"].startswith("$argon2id$") and password not in str(stored)


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401_and_are_audited(
    platform: Platform, browser: httpx.AsyncClient
):
    ana = new_id("ana")
    await platform.person(ana, "staff")
    wrong = await login(browser, ana, "no-es-la-clave")
    unknown = await login(browser, new_id("nadie"), "no-es-la-clave")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "bad_credentials"
        assert answer.json()["error"]["message"] == "Usuario o contraseña incorrectos."
        assert "cc_session" not in answer.headers.get("set-cookie", "")
    audit = await platform.http.get(
        "/api/access/audit", params={"user": ana}, headers=platform.auth("root", "admin")
    )
    assert [e["action"] for e in audit.json()] == ["login_failed", "user_created"]


async def test_five_failures_lock_that_user_from_that_address_even_with_the_right_password(
    platform: Platform, browser: httpx.AsyncClient
):
    eva, other = new_id("eva"), new_id("otra")
    password = await platform.person(eva, "staff")
    other_password = await platform.person(other, "staff")
    limit = platform.settings.login_failure_limit
    for _ in range(limit):
        assert (await login(browser, eva, "adivinando-123")).status_code == 401
    locked = await login(browser, eva, password)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "login_locked"
    assert 0 < int(locked.headers["retry-after"]) <= platform.settings.login_lock_seconds + 1
    # Another user from the same address is not locked out by Eva's guesser.
    assert (await login(browser, other, other_password)).status_code == 200
    audit = await platform.http.get(
        "/api/access/audit", params={"user": eva}, headers=platform.auth("root", "admin")
    )
    actions = [e["action"] for e in audit.json()]
    assert actions.count("login_failed") == limit and actions[0] == "login_locked"


async def test_signing_out_ends_the_session_on_the_server(
    platform: Platform, browser: httpx.AsyncClient
):
    mia = new_id("mia")
    signed = await login(browser, mia, await platform.person(mia, "agent"))
    cookie = browser.cookies["cc_session"]
    csrf = signed.json()["csrf_token"]
    out = await browser.post("/api/access/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    # The old cookie value, replayed (a copy an attacker kept), is worthless now.
    replay = await platform.http.get("/api/me", headers={"Cookie": f"cc_session={cookie}"})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_session"


async def test_a_cookie_write_needs_the_sessions_csrf_token(
    platform: Platform, browser: httpx.AsyncClient
):
    beto = new_id("beto")
    signed = await login(browser, beto, await platform.person(beto, "staff"))
    csrf = signed.json()["csrf_token"]
    conversation = await open_conversation(platform)
    take = f"/api/conversations/{conversation}/take"
    # Reads need no token; a write without it (what a forged cross-site form sends) is 403.
    assert (await browser.get(f"/api/conversations/{conversation}")).status_code == 200
    for headers in ({}, {"X-CSRF-Token": "otro-token"}):
        refused = await browser.post(take, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "csrf_failed"
    taken = await browser.post(take, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 200, taken.text
    assert taken.json()["conversation"]["holder"] == f"staff:{beto}"


async def test_the_bearer_token_of_scripts_works_as_before_without_csrf(platform: Platform):
    conversation = await open_conversation(platform)
    staff = platform.auth(new_id("script"), "staff")
    taken = await platform.http.post(f"/api/conversations/{conversation}/take", headers=staff)
    assert taken.status_code == 200, taken.text
    me = await platform.http.get("/api/me", headers=staff)
    assert me.status_code == 200 and me.json()["role"] == "staff"
    anonymous = await platform.http.get("/api/me")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_token"


@pytest.mark.parametrize("role", ["agent", "staff", "central"])
async def test_only_an_admin_manages_users(platform: Platform, role: str):
    headers = platform.auth(new_id("u"), role)  # type: ignore[arg-type]
    body = {"id": new_id("x"), "name": "X", "role": "agent"}
    calls = [
        platform.http.get("/api/access/users", headers=headers),
        platform.http.post("/api/access/users", json=body, headers=headers),
        platform.http.patch("/api/access/users/ana", json={"active": False}, headers=headers),
        platform.http.post("/api/access/users/ana/password", json={}, headers=headers),
        platform.http.get("/api/access/audit", headers=headers),
    ]
    for call in calls:
        answer = await call
        assert answer.status_code == 403, answer.request.url
    # Every staff role reads the directory.
    assert (await platform.http.get("/api/access/directory", headers=headers)).status_code == 200


async def test_an_admin_creates_disables_resets_and_changes_the_role_of_a_user(
    platform: Platform, browser: httpx.AsyncClient
):
    admin = platform.auth("root", "admin")
    juan = new_id("juan")
    created = await platform.http.post(
        "/api/access/users",
        json={"id": juan, "name": "Juan Gómez", "role": "agent"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    first_password = created.json()["password"]
    assert created.json()["user"] == {
        "id": juan,
        "name": "Juan Gómez",
        "role": "agent",
        "active": True,
    }
    again = await platform.http.post(
        "/api/access/users", json={"id": juan, "name": "Otro", "role": "agent"}, headers=admin
    )
    assert again.status_code == 409 and "Ya existe" in again.json()["error"]["message"]
    bad = await platform.http.post(
        "/api/access/users",
        json={"id": "Con Espacios", "name": "X", "role": "agent"},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "body.id"
    short = await platform.http.post(
        "/api/access/users",
        json={"id": new_id("p"), "name": "X", "role": "agent", "password": "corta"},
        headers=admin,
    )
    assert short.status_code == 422

    signed = await login(browser, juan, first_password)
    assert signed.status_code == 200
    directory = (await platform.http.get("/api/access/directory", headers=admin)).json()
    assert {"id": juan, "name": "Juan Gómez", "role": "agent"} in directory

    # A new role ends the sessions he had: he signs in again and is staff.
    promoted = await platform.http.patch(
        f"/api/access/users/{juan}", json={"role": "staff"}, headers=admin
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "staff"
    assert (await browser.get("/api/me")).status_code == 401
    assert (await login(browser, juan, first_password)).json()["role"] == "staff"

    # A reset password: the old one fails, the new one works, the session in use ends.
    reset = await platform.http.post(
        f"/api/access/users/{juan}/password",
        json={"password": "una-clave-nueva-larga"},
        headers=admin,
    )
    assert reset.status_code == 200 and reset.json()["password"] is None
    assert (await browser.get("/api/me")).status_code == 401
    assert (await login(browser, juan, first_password)).status_code == 401
    assert (await login(browser, juan, "una-clave-nueva-larga")).status_code == 200

    # Disabled: the session ends, he cannot sign in, he leaves the directory, tokens die.
    token = platform.auth(juan, "staff")
    disabled = await platform.http.patch(
        f"/api/access/users/{juan}", json={"active": False}, headers=admin
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await browser.get("/api/me")).status_code == 401
    assert (await login(browser, juan, "una-clave-nueva-larga")).status_code == 401
    directory = (await platform.http.get("/api/access/directory", headers=admin)).json()
    assert juan not in {p["id"] for p in directory}
    assert (await platform.http.get("/api/me", headers=token)).status_code == 401
    everyone = (await platform.http.get("/api/access/users", headers=admin)).json()
    assert {"id": juan, "name": "Juan Gómez", "role": "staff", "active": False} in everyone
    missing = await platform.http.patch(
        f"/api/access/users/{new_id('nadie')}", json={"active": False}, headers=admin
    )
    assert missing.status_code == 404


async def test_assign_goes_only_to_an_active_agent_or_staff_member_of_the_directory(
    platform: Platform,
):
    staff = platform.auth("ana", "staff")
    agent, gone, boss = new_id("agente"), new_id("baja"), new_id("jefa")
    await platform.person(agent, "agent", "Agente Real")
    await platform.person(gone, "agent")
    await platform.person(boss, "admin")
    await platform.app.state.access.update_user(ADMIN, gone, active=False)
    conversation = await open_conversation(platform)
    url = f"/api/conversations/{conversation}/assign"
    refusals = {
        "agent:luiz_typo": "unknown_user",
        "staff:" + "x" * 5000: "unknown_user",
        f"agent:{gone}": "user_disabled",
        f"admin:{boss}": "not_assignable",
        "admin:root": "unknown_user",
        f"staff:{agent}": "not_assignable",
    }
    for target, code in refusals.items():
        refused = await platform.http.post(url, json={"to": target, "note": "n"}, headers=staff)
        assert refused.status_code == 422, target[:20]
        error = refused.json()["error"]
        assert error["code"] == code, target[:20]
        assert error["message"] and "agent:" not in error["message"]
    assigned = await platform.http.post(
        url, json={"to": f"agent:{agent}", "note": "tuyo"}, headers=staff
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["conversation"]["holder"] == f"agent:{agent}"
    # The login name alone is enough: the directory knows the role.
    other = await open_conversation(platform)
    plain = await platform.http.post(
        f"/api/conversations/{other}/assign", json={"to": agent, "note": "tuyo"}, headers=staff
    )
    assert plain.json()["conversation"]["holder"] == f"agent:{agent}"


async def test_display_names_render_ids_and_holders_for_other_services(platform: Platform):
    luis = new_id("luis")
    await platform.person(luis, "agent", "Luis Pérez")
    names = await platform.app.state.access.directory.display_names(
        [f"agent:{luis}", luis, "lara", "system:ivr", "staff:desconocido"]
    )
    assert names == {
        f"agent:{luis}": "Luis Pérez",
        luis: "Luis Pérez",
        "lara": "Lara",
        "system:ivr": "Sistema",
        "staff:desconocido": "desconocido",
    }


async def test_the_first_admin_is_made_once_with_a_password_to_show(
    platform: Platform, settings: Settings
):
    fresh = settings.model_copy(update={"mongo_db_prefix": f"{new_id('first')}_"})
    mongo = platform.ctx.mongo
    access = Access(fresh, AccessStore(fresh, mongo), Revocations(fresh, mongo))
    password = await access.ensure_first_admin()
    assert password and len(password) >= 12
    signed = await access.login("admin", password, "127.0.0.1")
    assert signed.person.role == "admin"
    assert await access.ensure_first_admin() is None


async def test_the_last_active_admin_cannot_be_disabled_or_demoted(
    platform: Platform, settings: Settings
):
    fresh = settings.model_copy(update={"mongo_db_prefix": f"{new_id('last')}_"})
    mongo = platform.ctx.mongo
    access = Access(fresh, AccessStore(fresh, mongo), Revocations(fresh, mongo))
    await access.store.ensure_indexes()
    assert await access.ensure_first_admin()
    for change in ({"active": False}, {"role": "staff"}):
        with pytest.raises(AccountRefused, match="única cuenta de administración"):
            await access.update_user(ADMIN, "admin", **change)  # type: ignore[arg-type]
    await access.create_user("admin:admin", "segunda", "Segunda Admin", "admin", None)
    demoted = await access.update_user(ADMIN, "admin", role="staff")
    assert demoted.role == "staff"
