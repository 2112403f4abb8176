"""Issue 14 on tickets: one open service per conversation, Idempotency-Key retries, status
filters in the forms people type, bounded dates (issue 16 #9), and anonymization reaching
the services."""

from __future__ import annotations

import asyncio

from tests.integration.tickets.helpers import conversation_event, unique
from tests.support import Platform, eventually


async def _known_conversation(platform: Platform, **kwargs) -> str:  # type: ignore[no-untyped-def]
    conversation_id = unique("conv")
    await platform.ctx.bus.publish(conversation_event(conversation_id, 1, **kwargs))

    async def projected():  # type: ignore[no-untyped-def]
        return await platform.db("tickets")["conversations"].find_one({"_id": conversation_id})

    await eventually(projected)
    return conversation_id


async def _post(platform: Platform, body: dict, key: str | None = None, user: str = "luis"):  # type: ignore[no-untyped-def]
    headers = platform.auth(user, "agent")
    if key is not None:
        headers["Idempotency-Key"] = key
    return await platform.http.post("/api/services", json=body, headers=headers)


async def _created_events(platform: Platform, conversation_id: str) -> int:
    return await platform.db("tickets")["outbox"].count_documents(
        {"routing_key": "ticket.created", "body.service.conversation_id": conversation_id}
    )


async def test_twenty_concurrent_creations_on_one_conversation_create_one_service(
    platform: Platform,
) -> None:
    conversation_id = await _known_conversation(platform)
    body = {"conversation_id": conversation_id, "reason": "sin conexión"}
    responses = await asyncio.gather(*(_post(platform, body) for _ in range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    [created] = [r.json() for r in responses if r.status_code == 201]
    for refused in (r for r in responses if r.status_code == 409):
        assert created["number"] in refused.text
    assert await _created_events(platform, conversation_id) == 1  # one message to the customer


async def test_another_open_service_only_when_asked_or_after_the_first_is_cancelled(
    platform: Platform,
) -> None:
    conversation_id = await _known_conversation(platform)
    body = {"conversation_id": conversation_id, "reason": "sin conexión"}
    first = await _post(platform, body)
    assert first.status_code == 201
    assert (await _post(platform, body)).status_code == 409
    second = await _post(platform, {**body, "allow_another_open": True})
    assert second.status_code == 201
    assert second.json()["number"] != first.json()["number"]
    for service in (first.json(), second.json()):
        cancelled = await platform.http.post(
            f"/api/services/{service['service_id']}/cancel",
            json={"reason": "duplicado"},
            headers=platform.auth("ana", "staff"),
        )
        assert cancelled.status_code == 200, cancelled.text
    assert (await _post(platform, body)).status_code == 201


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_service(
    platform: Platform,
) -> None:
    conversation_id = await _known_conversation(platform)
    body = {"conversation_id": conversation_id, "reason": "sin conexión"}
    key = unique("key")
    responses = await asyncio.gather(*(_post(platform, body, key) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["service_id"] for r in responses}) == 1
    later = await _post(platform, body, key)
    assert (later.status_code, later.json()["service_id"]) == (
        200,
        responses[0].json()["service_id"],
    )
    assert await _created_events(platform, conversation_id) == 1
    other = await _post(platform, {**body, "reason": "otra cosa"}, key)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.text
    # Keys are per user: another user's same key is another request (refused: one is open).
    assert (await _post(platform, body, key, user="otro")).status_code == 409


async def test_list_filters_take_display_forms_and_refuse_unknown_ones(platform: Platform) -> None:
    name = unique("Filtro")
    conversation_id = await _known_conversation(platform, customer_name=name)
    created = await _post(platform, {"conversation_id": conversation_id, "reason": "x"})
    assert created.status_code == 201
    auth = platform.auth("ana", "staff")
    for typed in ("PENDIENTE", "Pendiente", "abiertos", "todos"):
        response = await platform.http.get(
            "/api/services", params={"q": name, "estado": typed}, headers=auth
        )
        assert response.status_code == 200, (typed, response.text)
        assert [s["number"] for s in response.json()["items"]] == [created.json()["number"]]
    for typed in ("CANCELADO", "cerrado"):
        response = await platform.http.get(
            "/api/services", params={"q": name, "estado": typed}, headers=auth
        )
        assert (response.status_code, response.json()["total"]) == (200, 0)
    for path in ("/api/services", "/api/consultations"):
        for params in (
            {"estado": "perdido"},
            {"hasta": "9999-12-31"},
            {"desde": "0001-01-01"},
            {"hasta": "0"},  # a number is not a day (it was read as a Unix time)
            {"desde": "2024-02-30"},
        ):
            response = await platform.http.get(path, params=params, headers=auth)
            assert response.status_code == 422, (path, params, response.text)
        # A consultation's status, the services' group of ended ones: both understood.
        response = await platform.http.get(path, params={"estado": "CERRADA"}, headers=auth)
        assert response.status_code == 200, (path, response.text)


async def test_an_anonymized_customer_disappears_from_services(platform: Platform) -> None:
    name = unique("Anónima")
    conversation_id = await _known_conversation(platform, customer_name=name)
    created = await _post(platform, {"conversation_id": conversation_id, "reason": "x"})
    assert created.json()["customer_name"] == name
    erased = conversation_event(
        conversation_id, 2, action="status_changed", customer_name=None, document_number=None
    )
    erased.change = "customer_anonymized"
    await platform.ctx.bus.publish(erased)
    service_id = created.json()["service_id"]
    auth = platform.auth("ana", "staff")

    async def anonymous():  # type: ignore[no-untyped-def]
        response = await platform.http.get(f"/api/services/{service_id}", headers=auth)
        return response.json()["customer_name"] is None or None

    await eventually(anonymous)
    listed = await platform.http.get("/api/services", params={"estado": "todos"}, headers=auth)
    assert name not in listed.text
    found = await platform.http.get(
        "/api/services", params={"q": name, "estado": "todos"}, headers=auth
    )
    assert found.json()["total"] == 0
    outbox = platform.db("tickets")["outbox"]

    async def no_copy_names_them() -> bool:
        # The stored copies of published events are erased too (the republisher may still be
        # announcing the erased service when this looks: give it a moment).
        copies = outbox.find({"body.service.service_id": service_id})
        return [doc async for doc in copies if name in str(doc)] == []

    await eventually(no_copy_names_them)
