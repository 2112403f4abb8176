import asyncio

from services.tickets.handlers import ListQuery
from shared.auth import Role
from shared.contracts.base import Identity
from shared.contracts.conversation import CallInfo
from shared.contracts.inbound import ContactInfo, InboundMessage
from tests.integration.tickets.helpers import conversation_event, unique
from tests.support import Platform, eventually


async def _known_conversation(platform: Platform, **kwargs) -> str:
    """Publish a conversation snapshot on the real broker; wait until tickets projected it."""
    conversation_id = unique("conv")
    await platform.ctx.bus.publish(conversation_event(conversation_id, 1, **kwargs))
    tickets = platform.db("tickets")

    async def projected():
        return await tickets["conversations"].find_one({"_id": conversation_id})

    await eventually(projected)
    return conversation_id


async def _create(platform: Platform, role: Role = "agent", **body) -> dict:
    body.setdefault("reason", "sin conexión a internet")
    response = await platform.http.post(
        "/api/services", json=body, headers=platform.auth("luis", role)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_hundred_concurrent_creations_get_unique_contiguous_numbers(platform: Platform):
    headers = platform.auth("luis", "agent")

    async def create(i: int):
        return await platform.http.post(
            "/api/services",
            json={
                "conversation_id": unique("conv"),
                "reason": f"falla {i}",
                "customer_name": f"Cliente {i}",
            },
            headers=headers,
        )

    responses = await asyncio.gather(*(create(i) for i in range(100)))
    assert [r.status_code for r in responses] == [201] * 100
    numbers = sorted(int(r.json()["number"].removeprefix("ST-")) for r in responses)
    assert numbers == list(range(numbers[0], numbers[0] + 100))
    assert all(r.json()["number"].startswith("ST-") for r in responses)


async def test_service_takes_customer_data_from_the_conversation_and_publishes_created(
    platform: Platform,
):
    conversation_id = await _known_conversation(platform)
    service = await _create(platform, conversation_id=conversation_id)
    assert service["status"] == "pendiente"
    assert service["customer_name"] == "María Núñez"
    assert service["document_number"] == "20.123.456-7"
    assert service["channel"] == "whatsapp"
    assert service["created_by"] == "agent:luis"

    outbox = platform.db("tickets")["outbox"]

    async def published():
        return await outbox.find_one(
            {
                "routing_key": "ticket.created",
                "body.service.service_id": service["service_id"],
                "published": True,
            }
        )

    event = await eventually(published)
    assert event["body"]["service"]["conversation_id"] == conversation_id
    assert event["body"]["service"]["number"] == service["number"]


async def test_service_from_an_ivr_call_is_found_by_its_call_sid(platform: Platform):
    call_sid = unique("CA")
    conversation_id = await _known_conversation(
        platform, channel="ivr", call=CallInfo(call_sid=call_sid, motive="soporte técnico")
    )
    service = await _create(platform, call_sid=call_sid)
    assert service["conversation_id"] == conversation_id
    assert service["channel"] == "ivr"
    assert service["call_sid"] == call_sid


async def test_unknown_conversation_without_customer_data_is_404(platform: Platform):
    response = await platform.http.post(
        "/api/services",
        json={"conversation_id": unique("conv"), "reason": "x"},
        headers=platform.auth("luis", "agent"),
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "unknown" in error["details"][0]["message"]


async def test_a_service_needs_a_conversation_or_a_call(platform: Platform):
    response = await platform.http.post(
        "/api/services", json={"reason": "x", "customer_name": "Ana"}, headers=platform.auth()
    )
    assert response.status_code == 422


async def test_central_confirms_and_then_cancelling_is_409_with_a_clear_message(
    platform: Platform,
):
    service = await _create(platform, conversation_id=unique("conv"), customer_name="Ana")
    sid = service["service_id"]
    confirmed = await platform.http.post(
        f"/api/services/{sid}/confirm", headers=platform.auth("ofi", "central")
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmado"
    assert confirmed.json()["version"] == 2

    cancelled = await platform.http.post(
        f"/api/services/{sid}/cancel", json={"reason": "ya no"}, headers=platform.auth()
    )
    assert cancelled.status_code == 409
    error = cancelled.json()["error"]
    assert error["code"] == "service_already_confirmed"
    assert "confirmed service cannot be cancelled" in error["details"][0]["message"]


async def test_confirming_a_cancelled_service_is_409(platform: Platform):
    service = await _create(platform, conversation_id=unique("conv"), customer_name="Ana")
    sid = service["service_id"]
    cancelled = await platform.http.post(
        f"/api/services/{sid}/cancel", json={"reason": "duplicado"}, headers=platform.auth()
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_reason"] == "duplicado"
    confirmed = await platform.http.post(
        f"/api/services/{sid}/confirm", headers=platform.auth("root", "admin")
    )
    assert confirmed.status_code == 409


async def test_only_admin_or_central_may_confirm(platform: Platform):
    service = await _create(platform, conversation_id=unique("conv"), customer_name="Ana")
    response = await platform.http.post(
        f"/api/services/{service['service_id']}/confirm", headers=platform.auth("ana", "staff")
    )
    assert response.status_code == 403
    response = await platform.http.post(
        f"/api/services/{service['service_id']}/cancel",
        json={"reason": "x"},
        headers=platform.auth("luis", "agent"),
    )
    assert response.status_code == 403


async def test_concurrent_confirm_and_cancel_leave_exactly_one_winner(platform: Platform):
    service = await _create(platform, conversation_id=unique("conv"), customer_name="Ana")
    sid = service["service_id"]
    confirm, cancel = await asyncio.gather(
        platform.http.post(f"/api/services/{sid}/confirm", headers=platform.auth("o", "central")),
        platform.http.post(
            f"/api/services/{sid}/cancel", json={"reason": "x"}, headers=platform.auth()
        ),
    )
    assert sorted([confirm.status_code, cancel.status_code]) == [200, 409]


async def test_unknown_service_is_404(platform: Platform):
    assert (
        await platform.http.get("/api/services/nope", headers=platform.auth())
    ).status_code == 404
    response = await platform.http.post(
        "/api/services/nope/confirm", headers=platform.auth("o", "central")
    )
    assert response.status_code == 404


async def test_service_is_found_by_id_and_by_number(platform: Platform):
    service = await _create(platform, conversation_id=unique("conv"), customer_name="Ana")
    by_id = await platform.http.get(
        f"/api/services/{service['service_id']}", headers=platform.auth()
    )
    by_number = await platform.http.get(
        f"/api/services/by-number/{service['number'].lower()}", headers=platform.auth()
    )
    assert by_id.json() == service
    assert by_number.json() == service


async def test_list_filters_by_accentless_name_or_document_and_defaults_to_pending(
    platform: Platform,
):
    surname = unique("Gómez").replace("-", "")
    document = str(int(unique("")[1:9], 16))
    open_one = await _create(
        platform, conversation_id=unique("conv"), customer_name=f"José {surname}"
    )
    closed_one = await _create(
        platform,
        conversation_id=unique("conv"),
        customer_name=f"Josefa {surname}",
        document_number=document,
    )
    await platform.http.post(
        f"/api/services/{closed_one['service_id']}/cancel",
        json={"reason": "x"},
        headers=platform.auth(),
    )
    plain = surname.replace("ó", "o").upper()

    default = await platform.http.get("/api/services", params={"q": plain}, headers=platform.auth())
    assert [s["service_id"] for s in default.json()["items"]] == [open_one["service_id"]]

    everything = await platform.http.get(
        "/api/services", params={"q": f"jos {plain}", "estado": "todos"}, headers=platform.auth()
    )
    assert everything.json()["total"] == 2

    by_document = await platform.http.get(
        "/api/services", params={"q": document, "estado": "cancelado"}, headers=platform.auth()
    )
    assert [s["service_id"] for s in by_document.json()["items"]] == [closed_one["service_id"]]

    page = await platform.http.get(
        "/api/services",
        params={"q": plain, "estado": "todos", "page_size": 1, "page": 2},
        headers=platform.auth(),
    )
    assert page.json()["total"] == 2 and len(page.json()["items"]) == 1


async def test_list_date_range_is_inclusive_and_refuses_reversed_ranges(platform: Platform):
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    name = f"Ana {unique('Rango')}"
    service = await _create(platform, conversation_id=unique("conv"), customer_name=name)
    created = datetime.fromisoformat(service["created_at"].replace("Z", "+00:00"))
    # desde/hasta are days of the office's zone, both inclusive.
    day = created.astimezone(ZoneInfo(platform.settings.tz)).date()

    async def listed(desde: date | None, hasta: date | None) -> list[str]:
        params = {"q": name, "estado": "todos"}
        if desde:
            params["desde"] = desde.isoformat()
        if hasta:
            params["hasta"] = hasta.isoformat()
        response = await platform.http.get("/api/services", params=params, headers=platform.auth())
        assert response.status_code == 200, response.text
        return [s["service_id"] for s in response.json()["items"]]

    one_day = timedelta(days=1)
    assert await listed(day, day) == [service["service_id"]]
    assert await listed(None, day) == [service["service_id"]]
    assert await listed(day, None) == [service["service_id"]]
    assert await listed(None, day - one_day) == []
    assert await listed(day + one_day, None) == []
    past = await platform.http.get(
        "/api/services", params={"hasta": "2000-01-01"}, headers=platform.auth()
    )
    assert past.json()["total"] == 0
    reversed_range = await platform.http.get(
        "/api/services",
        params={"desde": "2024-02-01", "hasta": "2024-01-01"},
        headers=platform.auth(),
    )
    assert reversed_range.status_code == 422
    unknown_state = await platform.http.get(
        "/api/services", params={"estado": "perdido"}, headers=platform.auth()
    )
    assert unknown_state.status_code == 422


async def test_creating_a_service_marks_the_conversation_in_routing(platform: Platform):
    """Through the real broker: ingest-shaped inbound message → routing opens the
    conversation → tickets projects it → service created → routing marks the conversation."""
    phone = "+54911" + str(int(unique("")[1:9], 16))[:8]
    await platform.ctx.bus.publish(
        InboundMessage(
            event_id=unique("wamid"),
            channel="whatsapp",
            identity=Identity(channel="whatsapp", external_id=phone),
            contact=ContactInfo(name="Rosa Díaz", phone=phone),
            external_message_id=unique("wamid"),
            message_type="text",
            text="no tengo internet",
        )
    )
    tickets = platform.db("tickets")

    async def projected():
        return await tickets["conversations"].find_one({"identity.external_id": phone})

    conversation = await eventually(projected, timeout=30)
    service = await _create(platform, conversation_id=conversation["_id"])

    async def marked():
        response = await platform.http.get(
            f"/api/conversations/{conversation['_id']}", headers=platform.auth()
        )
        if response.status_code != 200:
            return None
        body = response.json()
        status = body.get("status") or body.get("conversation", {}).get("status")
        return status == "genero_servicio_tecnico"

    assert await eventually(marked, timeout=30)
    assert service["conversation_id"] == conversation["_id"]


def test_list_query_defaults_are_first_page_of_fifty():
    assert ListQuery().page == 1 and ListQuery().page_size == 50
