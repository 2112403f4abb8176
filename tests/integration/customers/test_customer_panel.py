"""The customer panel's rules (seeds 000 and 003) through the public API: agents tag with
evidence, edit profiles and comment; cases hold the agent's own replies and a comment each,
which only cancelling the case deletes; block and anonymize are the office's; tags group
customers and conversations."""

from __future__ import annotations

from typing import Any

from tests.integration.customers.conftest import EventProbe, new_customer
from tests.integration.routing.helpers import uid
from tests.support import Platform, eventually


async def _conversation_of(platform: Platform, customer_id: str) -> str:
    """The conversation routing opened for the customer, once it carries the customer."""

    async def probe() -> str | None:
        r = await platform.http.get(
            "/api/conversations", params={"customer_id": customer_id}, headers=platform.auth()
        )
        items = r.json()["items"]
        return items[0]["conversation_id"] if items else None

    return await eventually(probe)


async def _case(platform: Platform, customer_id: str, case_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await platform.http.get(f"/api/customers/{customer_id}/cases", headers=platform.auth())
        return next((c for c in r.json() if c["case_id"] == case_id), None)

    return await eventually(probe)


async def test_an_agent_tags_with_evidence_edits_the_profile_and_comments(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    agent = platform.auth(uid("luis"), "agent")
    base = f"/api/customers/{customer_id}"

    no_evidence = await platform.http.post(f"{base}/tags", json={"tag": "svip"}, headers=agent)
    assert no_evidence.status_code == 422
    assert no_evidence.json()["error"]["code"] == "note_required"
    tagged = await platform.http.post(
        f"{base}/tags", json={"tag": "svip", "note": "llegó al nivel SVIP ayer"}, headers=agent
    )
    assert tagged.status_code == 201, tagged.text
    assert tagged.json()["actor"].startswith("agent:")

    edited = await platform.http.patch(
        base, json={"first_name": "Marta", "email": "marta@example.com"}, headers=agent
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["first_name"] == "Marta"

    commented = await platform.http.post(
        f"{base}/comments", json={"text": "Prefiere que la llamen de tarde"}, headers=agent
    )
    assert commented.status_code == 201

    central = platform.auth("oficina", "central")
    refused = await platform.http.post(
        f"{base}/tags", json={"tag": "fraude", "note": "x"}, headers=central
    )
    assert refused.status_code == 403


async def test_block_and_anonymize_are_for_the_office_only(
    platform: Platform, customer_events: EventProbe
):
    customer_id, phone = await new_customer(platform, customer_events)
    base = f"/api/customers/{customer_id}"
    key = f"whatsapp:{phone}"
    agent = platform.auth(uid("luis"), "agent")

    assert (
        await platform.http.post(f"{base}/identities/{key}/block", headers=agent)
    ).status_code == 403
    assert (await platform.http.post(f"{base}/anonymize", headers=agent)).status_code == 403
    exported = await platform.http.get(f"{base}/export", headers=agent)
    assert exported.status_code == 200  # every role may export (audited)

    staff = platform.auth("ana", "staff")
    blocked = await platform.http.post(
        f"{base}/identities/{key}/block", json={"note": "spam"}, headers=staff
    )
    assert blocked.status_code == 200, blocked.text
    assert [i["blocked"] for i in blocked.json()["identities"]] == [True]
    anonymized = await platform.http.post(f"{base}/anonymize", headers=staff)
    assert anonymized.status_code == 200
    assert anonymized.json()["anonymized"] is True
    audit = (await platform.http.get(f"{base}/audit", headers=staff)).json()
    assert [a["action"] for a in audit][-3:] == ["exported", "identity_blocked", "anonymized"]


async def test_cancelling_a_case_deletes_its_comments_and_nothing_else(
    platform: Platform, customer_events: EventProbe
):
    customer_id, _ = await new_customer(platform, customer_events)
    case_id = await _conversation_of(platform, customer_id)
    assert (await _case(platform, customer_id, case_id))["status"] == "open"
    base = f"/api/customers/{customer_id}"
    agent = platform.auth(uid("luis"), "agent")

    general = await platform.http.post(
        f"{base}/comments", json={"text": "comentario del cliente"}, headers=agent
    )
    on_case = await platform.http.post(
        f"{base}/cases/{case_id}/comments", json={"text": "le prometí una visita"}, headers=agent
    )
    assert on_case.status_code == 201, on_case.text
    case = await _case(platform, customer_id, case_id)
    assert [c["text"] for c in case["comments"]] == ["le prometí una visita"]
    # Once sent, a comment is neither edited nor deleted on its own.
    one = on_case.json()["id"]
    assert (await platform.http.delete(f"{base}/comments/{one}", headers=agent)).status_code == 405

    cancelled = await platform.http.post(
        f"{base}/cases/{case_id}/cancel", json={"note": "caso abierto por error"}, headers=agent
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["comments_deleted"] == 1
    case = await _case(platform, customer_id, case_id)
    assert case["status"] == "cancelled" and case["comments"] == []
    remaining = (await platform.http.get(f"{base}/comments", headers=agent)).json()
    assert [c["id"] for c in remaining] == [general.json()["id"]]

    again = await platform.http.post(
        f"{base}/cases/{case_id}/comments", json={"text": "otro"}, headers=agent
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "case_cancelled"
    audit = (await platform.http.get(f"{base}/audit", headers=agent)).json()
    assert audit[-1]["action"] == "case_cancelled"
    assert audit[-1]["detail"] == {"case_id": case_id, "comments_deleted": 1}

    stranger = await platform.http.post(
        f"{base}/cases/not-a-conversation/comments", json={"text": "x"}, headers=agent
    )
    assert stranger.status_code == 404
    central = platform.auth("oficina", "central")
    refused = await platform.http.post(f"{base}/cases/{case_id}/cancel", headers=central)
    assert refused.status_code == 403


async def test_a_tag_groups_customers_and_their_conversations(
    platform: Platform, customer_events: EventProbe
):
    tagged_id, _ = await new_customer(platform, customer_events, name="Cliente Svip")
    other_id, _ = await new_customer(platform, customer_events, name="Cliente Comun")
    staff = platform.auth()
    tagged_conversation = await _conversation_of(platform, tagged_id)
    other_conversation = await _conversation_of(platform, other_id)
    r = await platform.http.post(
        f"/api/customers/{tagged_id}/tags",
        json={"tag": "svip", "note": "nivel SVIP"},
        headers=staff,
    )
    assert r.status_code == 201

    customers = await platform.http.get(
        "/api/customers", params={"tag": "svip", "limit": 200}, headers=staff
    )
    ids = {c["id"] for c in customers.json()["items"]}
    assert tagged_id in ids and other_id not in ids
    assert all("svip" in c["tags"] for c in customers.json()["items"])

    async def listed(path: str) -> set[str] | None:
        r = await platform.http.get(
            path, params={"tag": "svip", "status": "todos", "page_size": 200}, headers=staff
        )
        assert r.status_code == 200, r.text
        found = {c["conversation_id"] for c in r.json()["items"]}
        return found if tagged_conversation in found else None

    for path in ("/api/conversations", "/api/stream"):
        found = await eventually(lambda path=path: listed(path))
        assert other_conversation not in found
    # A customer filter and a tag the customer lacks: nothing.
    none = await platform.http.get(
        "/api/conversations", params={"tag": "fraude", "customer_id": tagged_id}, headers=staff
    )
    assert none.json()["items"] == []
