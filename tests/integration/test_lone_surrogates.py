"""Issue 16 #8: a lone surrogate (`"\\ud800x"`, valid JSON, not encodable as UTF-8) in any
write body is a 422 with a clear message, never a 500 — whether the field is valid for the
schema (the database cannot store it) or not (the error echo cannot be encoded)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.customers.conftest import EventProbe, new_customer
from tests.integration.customers.conftest import customer_events as customer_events
from tests.integration.routing.helpers import new_identity, open_conversation
from tests.support import Platform
from tests.unit.ingest.payloads import webchat

BAD = "\ud800x"


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()  # ASCII: the surrogate travels as the escape \ud800


async def test_a_lone_surrogate_in_any_write_body_is_422(
    platform: Platform, customer_events: EventProbe
) -> None:
    staff, admin = platform.auth("ana", "staff"), platform.auth("root", "admin")
    portal = {"Authorization": f"Bearer {platform.settings.portal_token}"}
    webchat_auth = {"Authorization": f"Bearer {platform.settings.webchat_token}"}
    customer_id, _ = await new_customer(platform, customer_events)
    conversation_id = await open_conversation(platform, new_identity())
    service = await platform.http.post(
        "/api/services",
        json={"conversation_id": conversation_id, "reason": "x", "customer_name": "Ana"},
        headers=staff,
    )
    assert service.status_code == 201, service.text
    service_id = service.json()["service_id"]
    consultation = await platform.http.post(
        "/api/consultations",
        json={"name": "Ana", "document_number": "30123456", "email": "a@b.co",
              "subject": "s", "text": "t"},
        headers=portal,
    )  # fmt: skip
    consultation_id = consultation.json()["consultation_id"]
    conv = f"/api/conversations/{conversation_id}"
    writes: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/api/services", {"conversation_id": BAD, "reason": "x", "customer_name": "A"},
         staff),
        ("POST", "/api/services", {"conversation_id": "c", "reason": BAD, "customer_name": "A"},
         staff),
        ("POST", "/api/services", {"conversation_id": "c", "reason": "x" * 300 + BAD}, staff),
        ("POST", f"/api/services/{service_id}/cancel", {"reason": BAD}, staff),
        ("POST", "/api/consultations", {"name": BAD, "document_number": "30123456",
                                        "email": "a@b.co", "subject": "s", "text": "t"}, portal),
        ("POST", f"/api/consultations/{consultation_id}/answer",
         {"text": BAD, "channel": "email"}, staff),
        ("POST", f"/api/consultations/{consultation_id}/service", {"reason": BAD}, staff),
        ("PATCH", f"/api/customers/{customer_id}", {"company": BAD}, staff),
        ("PATCH", f"/api/customers/{customer_id}", {"notes": BAD}, staff),
        ("POST", f"/api/customers/{customer_id}/comments", {"text": BAD}, staff),
        ("POST", f"/api/customers/{customer_id}/tags", {"tag": "svip", "note": BAD}, staff),
        ("POST", f"/api/customers/{customer_id}/merge", {"other_id": BAD, "note": "n"}, staff),
        ("POST", "/api/tags", {"tag": "nuevo_tag", "label": BAD}, admin),
        ("POST", f"{conv}/notes", {"text": BAD}, staff),
        ("POST", f"{conv}/escalate", {"note": BAD}, staff),
        ("POST", f"{conv}/assign", {"to": "staff:luis", "note": BAD}, staff),
        ("POST", f"{conv}/messages", {"text": BAD}, staff),
        ("POST", f"{conv}/close", {"note": BAD}, staff),
        ("POST", "/webhooks/webchat", webchat(BAD), webchat_auth),
    ]  # fmt: skip
    failures = []
    for method, path, body, headers in writes:
        response = await platform.http.request(
            method,
            path,
            content=_raw(body),
            headers={**headers, "Content-Type": "application/json"},
        )
        body = response.json()  # the one error shape, never FastAPI's {"detail": ...}
        if response.status_code != 422 or set(body) != {"error"} or not body["error"]["code"]:
            failures.append((method, path, response.status_code, response.text[:200]))
    assert failures == []
    # Nothing half-written: the service is still pending, the conversation still open.
    assert (await platform.http.get(f"/api/services/{service_id}", headers=staff)).json()[
        "status"
    ] == "pendiente"
