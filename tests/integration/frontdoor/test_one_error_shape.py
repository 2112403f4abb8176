"""Every refusal, from every service and from the framework itself, has one shape:
`{"error": {"code", "message", "details"}}` with a stable code and a Spanish message."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.errors import ErrorResponse
from tests.support import Platform, meta_signature


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The body's error after checking it is exactly the one shape, and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    ErrorResponse.model_validate(body)
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    return error


async def test_unknown_route_is_404_in_the_one_shape(platform: Platform) -> None:
    # Under /api the credential is checked first (an anonymous caller learns nothing).
    error = error_of(await platform.http.get("/api/no-such-thing", headers=platform.auth()), 404)
    assert error["code"] == "not_found"
    assert error_of(await platform.http.get("/no-such-thing"), 404)["code"] == "not_found"
    assert error["message"] == "No existe esa ruta."


async def test_wrong_method_is_405_with_allow(platform: Platform) -> None:
    response = await platform.http.delete("/api/conversations", headers=platform.auth())
    error = error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_missing_and_invalid_tokens_are_401_with_distinct_codes(platform: Platform) -> None:
    missing = await platform.http.get("/api/customers")
    assert error_of(missing, 401)["code"] == "missing_token"
    assert missing.headers["www-authenticate"] == "Bearer"
    invalid = await platform.http.get(
        "/api/customers", headers={"Authorization": "Bearer not-a-jwt"}
    )
    error = error_of(invalid, 401)
    assert error["code"] == "invalid_token"
    assert error["details"] == []  # why a token failed goes to the log, never to the caller


async def test_a_role_that_may_not_act_is_403(platform: Platform) -> None:
    response = await platform.http.get("/api/consultations", headers=platform.auth("luis", "agent"))
    error = error_of(response, 403)
    assert error["code"] == "role_not_allowed"
    assert "agent" in error["message"]


async def test_framework_validation_is_422_with_one_detail_per_field(platform: Platform) -> None:
    response = await platform.http.get(
        "/api/conversations", params={"page": 0, "page_size": "x"}, headers=platform.auth()
    )
    error = error_of(response, 422)
    assert error["code"] == "invalid_request"
    fields = {d["field"]: d for d in error["details"]}
    assert set(fields) == {"query.page", "query.page_size"}
    assert fields["query.page_size"]["type"] == "int_parsing"
    assert fields["query.page_size"]["message"].startswith("Debe ser un número entero")


async def test_missing_body_field_is_named_in_spanish(platform: Platform) -> None:
    response = await platform.http.post(
        "/api/tags", json={"label": "x"}, headers=platform.auth("root", "admin")
    )
    error = error_of(response, 422)
    [detail] = error["details"]
    assert detail == {"field": "body.tag", "message": "Falta este dato.", "type": "missing"}


async def test_domain_refusals_of_each_service_map_to_their_codes(platform: Platform) -> None:
    unknown = uuid.uuid4().hex
    cases = [
        (f"/api/conversations/{unknown}", 404, "conversation_not_found"),
        (f"/api/customers/{unknown}", 404, "customer_not_found"),
        (f"/api/services/{unknown}", 404, "not_found"),
        ("/api/tables/nope", 404, "unknown_table"),
        ("/api/tables/chats?desde=ayer", 422, "bad_filter"),
    ]
    for path, status, code in cases:
        error = error_of(await platform.http.get(path, headers=platform.auth()), status)
        assert error["code"] == code, path


async def test_portal_without_its_token_is_401(platform: Platform) -> None:
    error = error_of(await platform.http.post("/api/consultations", json={}), 401)
    assert error["code"] == "invalid_portal_token"


async def test_webhook_refusals_share_the_shape(platform: Platform) -> None:
    raw = b'{"object":"whatsapp_business_account","entry":[]}'
    unsigned = await platform.http.post(
        "/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": "sha256=00"}
    )
    error = error_of(unsigned, 401)
    assert error["code"] == "invalid_signature"
    assert "secreto" in error["message"]

    handshake = await platform.http.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "no"}
    )
    assert error_of(handshake, 403)["code"] == "verification_failed"

    huge = b" " * (platform.settings.max_webhook_bytes + 1)
    too_large = await platform.http.post(
        "/webhooks/whatsapp",
        content=huge,
        headers={
            "X-Hub-Signature-256": meta_signature(platform.settings.whatsapp_app_secret, huge)
        },
    )
    assert error_of(too_large, 413)["code"] == "payload_too_large"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_append_only_comments_answer_405_in_the_shape(
    platform: Platform, method: str
) -> None:
    response = await platform.http.request(
        method, "/api/customers/c1/comments/k1", json={"text": "x"}, headers=platform.auth()
    )
    assert error_of(response, 405)["code"] == "comments_are_immutable"
    assert response.headers["allow"] == ""  # the resource allows no method at all


async def test_a_405_names_every_documented_method_of_the_resource(platform: Platform) -> None:
    for path, methods in (("/webhooks/whatsapp", "GET, POST"), ("/api/consultations", "GET, POST")):
        response = await platform.http.request("OPTIONS", path, headers=platform.auth())
        assert response.status_code == 405
        assert response.headers["allow"] == methods


async def test_not_ready_is_503_naming_the_dependency_that_is_down(platform: Platform) -> None:
    from contactcenter.embedded_mongo import free_port
    from contactcenter.platform import build_app

    no_broker = platform.settings.model_copy(
        update={"amqp_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/"}
    )
    app = build_app(no_broker)  # never started: its broker never connected
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        error = error_of(await client.get("/readyz"), 503)
    assert error["code"] == "not_ready"
    assert [d["field"] for d in error["details"]] == ["broker"]
    assert "RabbitMQ" in error["message"]
    await app.state.ctx.mongo.close()
