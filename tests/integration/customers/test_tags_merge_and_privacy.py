"""Tags, merge/unmerge, comments, export, anonymize and audit on the real platform."""

from __future__ import annotations

import uuid

from tests.integration.customers.conftest import (
    EventProbe,
    identified,
    identify,
    inbound,
    new_customer,
)
from tests.support import Platform

SEED_TAGS = {
    "abusador_de_bonos",
    "usuario_vpn",
    "reclamaciones_constantes",
    "svip",
    "cliente_grosero",
    "fraude",
}


async def test_catalogue_ships_the_six_seed_tags_and_only_admins_define_new_ones(
    platform: Platform,
):
    r = await platform.http.get("/api/tags", headers=platform.auth("luis", "agent"))
    catalogue = {t["tag"]: t["label"] for t in r.json()}
    assert set(catalogue) >= SEED_TAGS
    assert catalogue["usuario_vpn"] == "Usuario de VPN, país restringido"
    slug = f"moroso_{uuid.uuid4().hex[:6]}"
    body = {"tag": slug, "label": "Moroso"}
    assert (
        await platform.http.post("/api/tags", json=body, headers=platform.auth())
    ).status_code == 403
    admin = platform.auth("root", "admin")
    assert (await platform.http.post("/api/tags", json=body, headers=admin)).status_code == 201
    assert (await platform.http.post("/api/tags", json=body, headers=admin)).status_code == 409
    r = await platform.http.get("/api/tags", headers=platform.auth())
    assert slug in {t["tag"] for t in r.json()}


async def test_tagging_requires_evidence_and_keeps_the_history(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    url = f"/api/customers/{customer_id}/tags"
    missing = await platform.http.post(url, json={"tag": "fraude"}, headers=platform.auth())
    assert missing.status_code == 422
    blank = await platform.http.post(
        url, json={"tag": "fraude", "note": "  "}, headers=platform.auth()
    )
    assert blank.status_code == 422
    unknown = await platform.http.post(
        url, json={"tag": "nope", "note": "x"}, headers=platform.auth()
    )
    assert unknown.status_code == 422

    added = await platform.http.post(
        url, json={"tag": "fraude", "note": "pagó con tarjeta robada"}, headers=platform.auth("ana")
    )
    assert added.status_code == 201
    again = await platform.http.post(
        url, json={"tag": "fraude", "note": "x"}, headers=platform.auth()
    )
    assert again.status_code == 409
    removed = await platform.http.delete(
        f"{url}/fraude", params={"note": "era un error"}, headers=platform.auth("beto")
    )
    assert removed.status_code == 200
    no_note = await platform.http.delete(f"{url}/fraude", headers=platform.auth())
    assert no_note.status_code == 422

    history = (await platform.http.get(f"{url}/history", headers=platform.auth())).json()
    assert [(h["tag"], h["action"], h["actor"], h["note"]) for h in history] == [
        ("fraude", "added", "staff:ana", "pagó con tarjeta robada"),
        ("fraude", "removed", "staff:beto", "era un error"),
    ]
    assert all(h["at"] for h in history)
    tagged = await customer_events.wait_for(customer_id, "tagged")
    assert tagged[0]["tag"] == "fraude" and tagged[0]["customer"]["tags"] == ["fraude"]
    untagged = await customer_events.wait_for(customer_id, "untagged")
    assert untagged[0]["customer"]["tags"] == []


async def test_merge_and_unmerge_round_trip_restores_both_customers_exactly(
    platform: Platform, customer_events: EventProbe
):
    survivor, survivor_phone = await new_customer(platform, customer_events, "Marta Sur")
    absorbed, absorbed_phone = await new_customer(
        platform, customer_events, "Marta S", email=f"m{uuid.uuid4().hex[:6]}@example.com"
    )
    auth = platform.auth()
    await platform.http.post(
        f"/api/customers/{absorbed}/tags", json={"tag": "svip", "note": "cliente top"}, headers=auth
    )
    await platform.http.post(
        f"/api/customers/{absorbed}/comments", json={"text": "llamó por la factura"}, headers=auth
    )
    before_survivor = (await platform.http.get(f"/api/customers/{survivor}", headers=auth)).json()
    before_absorbed = (await platform.http.get(f"/api/customers/{absorbed}", headers=auth)).json()

    r = await platform.http.post(
        f"/api/customers/{survivor}/merge",
        json={"other_id": absorbed, "note": "misma persona"},
        headers=auth,
    )
    assert r.status_code == 200
    merge_id = r.json()["merge_id"]
    merged = r.json()["customer"]
    assert {i["key"] for i in merged["identities"]} == {
        f"whatsapp:{survivor_phone}",
        f"whatsapp:{absorbed_phone}",
    }
    assert merged["tags"] == ["svip"]
    assert merged["email"] == before_absorbed["email"]
    comments = (await platform.http.get(f"/api/customers/{survivor}/comments", headers=auth)).json()
    assert [c["text"] for c in comments] == ["llamó por la factura"]
    gone = (await platform.http.get(f"/api/customers/{absorbed}", headers=auth)).json()
    assert gone["status"] == "merged" and gone["merged_into"] == survivor
    event = (await customer_events.wait_for(survivor, "merged"))[0]
    assert event["merged_customer_id"] == absorbed
    assert len(event["customer"]["identities"]) == 2

    # a new message on the absorbed identity now belongs to the survivor
    later = await identify(platform, customer_events, inbound(absorbed_phone, "Marta S"))
    assert later == survivor

    again = await platform.http.post(
        f"/api/customers/{survivor}/merge", json={"other_id": absorbed}, headers=auth
    )
    assert again.status_code == 409

    r = await platform.http.post(
        f"/api/customers/{survivor}/unmerge", json={"merge_id": merge_id}, headers=auth
    )
    assert r.status_code == 200
    after_survivor = (await platform.http.get(f"/api/customers/{survivor}", headers=auth)).json()
    after_absorbed = (await platform.http.get(f"/api/customers/{absorbed}", headers=auth)).json()
    stable = ("first_name", "last_name", "email", "mobile_phone", "tags", "status", "notes")
    assert {k: after_survivor[k] for k in stable} == {k: before_survivor[k] for k in stable}
    assert {k: after_absorbed[k] for k in stable} == {k: before_absorbed[k] for k in stable}
    assert [i["key"] for i in after_survivor["identities"]] == [f"whatsapp:{survivor_phone}"]
    assert [i["key"] for i in after_absorbed["identities"]] == [f"whatsapp:{absorbed_phone}"]
    comments = (await platform.http.get(f"/api/customers/{survivor}/comments", headers=auth)).json()
    assert comments == []
    unmerged = (await customer_events.wait_for(survivor, "unmerged"))[0]
    assert unmerged["merged_customer_id"] == absorbed
    assert unmerged["merged_customer"]["identities"] == [
        {"channel": "whatsapp", "external_id": absorbed_phone}
    ]
    twice = await platform.http.post(
        f"/api/customers/{survivor}/unmerge", json={"merge_id": merge_id}, headers=auth
    )
    assert twice.status_code == 409
    unknown = await platform.http.post(
        f"/api/customers/{survivor}/unmerge", json={"merge_id": "nope"}, headers=auth
    )
    assert unknown.status_code == 404


async def test_merging_a_customer_with_itself_is_refused(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    r = await platform.http.post(
        f"/api/customers/{customer_id}/merge",
        json={"other_id": customer_id},
        headers=platform.auth(),
    )
    assert r.status_code == 409


async def test_case_comments_are_append_only(platform: Platform, customer_events: EventProbe):
    customer_id, _ = await new_customer(platform, customer_events)
    url = f"/api/customers/{customer_id}/comments"
    created = await platform.http.post(
        url, json={"text": "primer contacto"}, headers=platform.auth()
    )
    assert created.status_code == 201
    comment = created.json()
    assert comment["author"] == "staff:ana"
    for method in ("PUT", "PATCH", "DELETE"):
        r = await platform.http.request(
            method, f"{url}/{comment['id']}", json={"text": "editado"}, headers=platform.auth()
        )
        assert r.status_code == 405
        assert r.json()["error"]["code"] == "comments_are_immutable"
        assert r.headers["allow"] == ""
    listed = (await platform.http.get(url, headers=platform.auth())).json()
    assert [c["text"] for c in listed] == ["primer contacto"]
    empty = await platform.http.post(url, json={"text": ""}, headers=platform.auth())
    assert empty.status_code == 422


async def test_export_contains_profile_identities_tags_with_history_and_comments(
    platform: Platform, customer_events: EventProbe
):
    customer_id, phone = await new_customer(platform, customer_events, "Exportable Uno")
    auth = platform.auth()
    await platform.http.post(
        f"/api/customers/{customer_id}/tags",
        json={"tag": "svip", "note": "gran cuenta"},
        headers=auth,
    )
    await platform.http.post(
        f"/api/customers/{customer_id}/comments", json={"text": "nota"}, headers=auth
    )
    r = await platform.http.get(f"/api/customers/{customer_id}/export", headers=auth)
    assert r.status_code == 200
    export = r.json()
    assert export["customer"]["first_name"] == "Exportable"
    assert export["customer"]["identities"][0]["key"] == f"whatsapp:{phone}"
    assert export["tags"] == ["svip"]
    assert export["tag_history"][0]["note"] == "gran cuenta"
    assert [c["text"] for c in export["comments"]] == ["nota"]
    assert export["conversations_url"] == f"/api/conversations?customer_id={customer_id}"


async def test_anonymize_erases_personal_data_retires_identities_and_publishes_the_event(
    platform: Platform, customer_events: EventProbe
):
    name = f"Olvidame{uuid.uuid4().hex[:6]}"
    customer_id, phone = await new_customer(platform, customer_events, f"Carla {name}")
    auth = platform.auth()
    await platform.http.patch(
        f"/api/customers/{customer_id}",
        json={"email": f"{name}@example.com", "document_number": "30111222", "notes": "vive en X"},
        headers=auth,
    )
    await platform.http.post(
        f"/api/customers/{customer_id}/comments", json={"text": "dato privado"}, headers=auth
    )
    r = await platform.http.post(f"/api/customers/{customer_id}/anonymize", headers=auth)
    assert r.status_code == 200
    body = (await platform.http.get(f"/api/customers/{customer_id}", headers=auth)).json()
    assert body["anonymized"] is True
    for field in ("first_name", "last_name", "display_name", "email", "mobile_phone", "notes"):
        assert body[field] is None, field
    assert body["document_number"] is None
    assert body["identities"] == []  # retired: the number is free for a new customer
    comments = (
        await platform.http.get(f"/api/customers/{customer_id}/comments", headers=auth)
    ).json()
    assert [c["text"] for c in comments] == ["[anonimizado]"]
    event = (await customer_events.wait_for(customer_id, "anonymized"))[0]
    assert event["customer"]["anonymized"] is True
    assert event["customer"]["first_name"] is None and event["customer"]["display_name"] is None
    assert (await platform.http.get("/api/customers", params={"q": name}, headers=auth)).json()[
        "total"
    ] == 0
    assert event["customer"]["identities"] == []
    # a later message from the number is a new customer; the anonymized one stays erased
    later = inbound(phone, f"Carla {name}")
    await platform.ctx.bus.publish(later)
    assert await identified(platform, later) != customer_id
    after = (await platform.http.get(f"/api/customers/{customer_id}", headers=auth)).json()
    assert after["display_name"] is None and after["first_name"] is None
    assert after["identities"] == []
    edit = await platform.http.patch(
        f"/api/customers/{customer_id}", json={"first_name": "X"}, headers=auth
    )
    assert edit.status_code == 409


async def test_every_staff_action_is_audited_with_who_and_when(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    auth = platform.auth("marisa")
    await platform.http.patch(
        f"/api/customers/{customer_id}", json={"company": "ACME"}, headers=auth
    )
    await platform.http.post(
        f"/api/customers/{customer_id}/tags", json={"tag": "svip", "note": "vip"}, headers=auth
    )
    await platform.http.post(
        f"/api/customers/{customer_id}/comments", json={"text": "c"}, headers=auth
    )
    await platform.http.get(f"/api/customers/{customer_id}/export", headers=auth)
    r = await platform.http.get(f"/api/customers/{customer_id}/audit", headers=auth)
    assert r.status_code == 200
    entries = r.json()
    assert [e["action"] for e in entries] == ["updated", "tagged", "commented", "exported"]
    assert {e["actor"] for e in entries} == {"staff:marisa"}
    assert entries[0]["detail"] == {"fields": ["company"]}
    assert all(e["at"] for e in entries)
