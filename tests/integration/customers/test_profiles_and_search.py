"""Profile edits, validation and search over the real HTTP API and database."""

from __future__ import annotations

import random
import uuid

from tests.integration.customers.conftest import EventProbe, new_customer
from tests.support import Platform


def _unique_document() -> str:
    n = random.randint(10_000_000, 99_999_999)
    return f"{str(n)[:2]}.{str(n)[2:5]}.{str(n)[5:]}"


async def _search(platform: Platform, q: str) -> list[str]:
    r = await platform.http.get("/api/customers", params={"q": q}, headers=platform.auth())
    assert r.status_code == 200
    return [c["id"] for c in r.json()["items"]]


async def test_search_finds_a_customer_by_document_number_written_with_or_without_dots(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    document = _unique_document()
    r = await platform.http.patch(
        f"/api/customers/{customer_id}",
        json={"document_number": document},
        headers=platform.auth(),
    )
    assert r.status_code == 200
    assert r.json()["document_number"] == document.replace(".", "")
    assert await _search(platform, document) == [customer_id]
    assert await _search(platform, document.replace(".", "")) == [customer_id]


async def test_search_finds_a_phone_written_differently(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    local = random.randint(1000, 9999)
    written = f"+54 9 11 {local}-{random.randint(1000, 9999)}"
    r = await platform.http.patch(
        f"/api/customers/{customer_id}", json={"home_phone": written}, headers=platform.auth()
    )
    assert r.status_code == 200
    normalized = r.json()["home_phone"]
    assert normalized == "+" + "".join(c for c in written if c.isdigit())
    digits = normalized.lstrip("+")
    assert await _search(platform, digits) == [customer_id]
    assert await _search(platform, written) == [customer_id]
    assert await _search(platform, f"11 {digits[-8:-4]}-{digits[-4:]}") == [customer_id]


async def test_search_ignores_accents_and_case_and_matches_email(
    platform: Platform, customer_events: EventProbe
):
    tag = uuid.uuid4().hex[:8]
    customer_id, _ = await new_customer(platform, customer_events, f"Ñandú Pérez{tag}")
    email = f"Nandu.{tag}@Example.com"
    r = await platform.http.patch(
        f"/api/customers/{customer_id}", json={"email": email}, headers=platform.auth()
    )
    assert r.status_code == 200
    assert await _search(platform, f"nandu perez{tag}") == [customer_id]
    assert await _search(platform, f"PÉREZ{tag.upper()}") == [customer_id]
    assert await _search(platform, email.lower()) == [customer_id]


async def test_search_is_paginated(platform: Platform, customer_events: EventProbe):
    family = f"Paginado{uuid.uuid4().hex[:8]}"
    ids = {(await new_customer(platform, customer_events, f"Ana {family}"))[0] for _ in range(3)}
    params = {"q": family, "limit": 2, "offset": 0}
    first = (
        await platform.http.get("/api/customers", params=params, headers=platform.auth())
    ).json()
    params["offset"] = 2
    rest = (
        await platform.http.get("/api/customers", params=params, headers=platform.auth())
    ).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and len(rest["items"]) == 1
    assert {c["id"] for c in first["items"] + rest["items"]} == ids


async def test_invalid_profile_values_get_a_clear_422(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    url = f"/api/customers/{customer_id}"
    cases = {
        "email": "no-es-un-email",
        "mobile_phone": "555 0000",
        "home_phone": "+12",
        "favourite_colour": "azul",
    }
    for field, value in cases.items():
        r = await platform.http.patch(url, json={field: value}, headers=platform.auth())
        assert r.status_code == 422, field
        error = r.json()["error"]
        assert error["code"] == "invalid_field", field
        detail = error["details"][0]
        assert detail["field"] == f"body.{field}" and detail["message"]
    phone = await platform.http.patch(
        url, json={"mobile_phone": "555 0000"}, headers=platform.auth()
    )
    assert "E.164" in phone.json()["error"]["details"][0]["message"]


async def test_local_phone_formats_are_read_in_the_default_country(
    platform: Platform, customer_events: EventProbe
):
    """Issue 14: `(011) 4555-1234` is accepted and stored as E.164 (default country AR),
    and the rest of the edit goes through with it."""
    customer_id, _ = await new_customer(platform, customer_events)
    local = random.randint(1000, 9999)
    r = await platform.http.patch(
        f"/api/customers/{customer_id}",
        json={
            "home_phone": f"(011) 4555-{local}",
            "mobile_phone": f"011 15 5555-{local}",
            "company": "Ferretería Núñez",
        },
        headers=platform.auth(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["home_phone"] == f"+54114555{local}"
    assert body["mobile_phone"] == f"+549115555{local}"
    assert body["company"] == "Ferretería Núñez"
    assert customer_id in await _search(platform, f"4555-{local}")


async def test_an_overlong_search_is_refused_not_a_server_error(platform: Platform):
    """Issue 16 #9: a search of 1,000+ characters is a 422 with a clear message."""
    for q in ("a" * 1000, "30.123.456 " * 200, "\u00e1" * 5000):
        r = await platform.http.get("/api/customers", params={"q": q}, headers=platform.auth())
        assert r.status_code == 422, r.text[:200]
        body = r.json()  # FastAPI's `detail` list or the platform's one error shape
        fields = [d.get("loc") for d in body.get("detail", [])]
        fields += [d.get("field") for d in body.get("error", {}).get("details", [])]
        assert ["query", "q"] in fields or "query.q" in fields, body


async def test_agents_read_and_edit_central_only_reads_and_anonymous_callers_are_refused(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    url = f"/api/customers/{customer_id}"
    agent = platform.auth("luis", "agent")
    central = platform.auth("oficina", "central")
    assert (await platform.http.get(url, headers=agent)).status_code == 200
    assert (await platform.http.patch(url, json={"company": "X"}, headers=agent)).status_code == 200
    assert (await platform.http.get(url, headers=central)).status_code == 200
    edit = await platform.http.patch(url, json={"company": "Y"}, headers=central)
    assert edit.status_code == 403
    assert (await platform.http.get(url)).status_code == 401
    assert (await platform.http.get("/api/customers/nope", headers=agent)).status_code == 404


async def test_suggestions_list_other_customers_with_the_same_phone_email_or_document(
    platform: Platform, customer_events: EventProbe
):
    first, phone = await new_customer(platform, customer_events, "Gemelo Uno")
    second, _ = await new_customer(platform, customer_events, "Gemelo Dos")
    document = _unique_document()
    for cid in (first, second):
        await platform.http.patch(
            f"/api/customers/{cid}", json={"document_number": document}, headers=platform.auth()
        )
    await platform.http.patch(
        f"/api/customers/{second}", json={"home_phone": phone}, headers=platform.auth()
    )
    r = await platform.http.get(f"/api/customers/{first}/suggestions", headers=platform.auth())
    assert r.status_code == 200
    [suggestion] = r.json()
    assert suggestion["customer"]["id"] == second
    assert suggestion["matched_on"] == ["doc", "phone"]


async def test_admin_configured_extra_fields_are_validated_on_edit(
    platform: Platform, customer_events: EventProbe
):
    fields = {"fields": [{"key": "numero_cliente", "label": "Número de cliente", "type": "text"}]}
    staff = await platform.http.put("/api/customer-fields", json=fields, headers=platform.auth())
    assert staff.status_code == 403
    admin = platform.auth("root", "admin")
    r = await platform.http.put("/api/customer-fields", json=fields, headers=admin)
    assert r.status_code == 200
    customer_id, _ = await new_customer(platform, customer_events)
    url = f"/api/customers/{customer_id}"
    ok = await platform.http.patch(
        url, json={"extra": {"numero_cliente": "C-77"}}, headers=platform.auth()
    )
    assert ok.status_code == 200 and ok.json()["extra"] == {"numero_cliente": "C-77"}
    bad = await platform.http.patch(url, json={"extra": {"otro": 1}}, headers=platform.auth())
    assert bad.status_code == 422
