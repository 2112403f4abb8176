"""What the console's service panel and holder-aware buttons read from the API: the services
of one conversation, the refusal of a second open service by its own code, and whether the
staff holder let the agents (or Lara) speak again."""

from __future__ import annotations

from tests.integration.routing.helpers import conversation, open_conversation
from tests.integration.tickets.helpers import conversation_event, unique
from tests.support import Platform, eventually


async def _known_conversation(platform: Platform) -> str:
    conversation_id = unique("conv")
    await platform.ctx.bus.publish(conversation_event(conversation_id, 1))

    async def projected():  # type: ignore[no-untyped-def]
        return await platform.db("tickets")["conversations"].find_one({"_id": conversation_id})

    await eventually(projected)
    return conversation_id


async def test_services_are_listed_per_conversation_in_every_state(platform: Platform) -> None:
    mine, other = await _known_conversation(platform), await _known_conversation(platform)
    agent = platform.auth("luis", "agent")
    created = []
    for conversation_id, reason in ((mine, "sin señal"), (other, "router roto")):
        response = await platform.http.post(
            "/api/services",
            json={"conversation_id": conversation_id, "reason": reason},
            headers=agent,
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    cancelled = await platform.http.post(
        f"/api/services/{created[0]['service_id']}/cancel",
        json={"reason": "cargado por error"},
        headers=platform.auth("ana", "staff"),
    )
    assert cancelled.status_code == 200, cancelled.text

    listed = await platform.http.get(
        "/api/services", params={"conversation_id": mine, "estado": "todos"}, headers=agent
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [s["number"] for s in body["items"]] == [created[0]["number"]]
    assert body["items"][0]["status"] == "cancelado"
    assert body["total"] == 1
    # Without `estado` the default (pending) still applies: the cancelled one is not listed.
    pending = await platform.http.get(
        "/api/services", params={"conversation_id": mine}, headers=agent
    )
    assert pending.json()["items"] == []


async def test_a_second_open_service_is_refused_with_its_own_code(platform: Platform) -> None:
    conversation_id = await _known_conversation(platform)
    body = {"conversation_id": conversation_id, "reason": "sin conexión"}
    agent = platform.auth("luis", "agent")
    first = await platform.http.post("/api/services", json=body, headers=agent)
    assert first.status_code == 201
    second = await platform.http.post("/api/services", json=body, headers=agent)
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "service_already_open"
    assert error["message"] == "La conversación ya tiene un servicio técnico abierto."
    assert first.json()["number"] in second.text  # the reason names the open one


async def test_the_conversation_says_when_its_staff_holder_lets_the_agents_speak(
    platform: Platform,
) -> None:
    cid = await open_conversation(platform)
    view = await conversation(platform, cid)
    assert (view["agents_allowed"], view["lara_allowed"]) == (False, False)
    staff = platform.auth("ana", "staff")
    taken = await platform.http.post(f"/api/conversations/{cid}/take", headers=staff)
    assert taken.status_code == 200, taken.text
    noted = await platform.http.post(
        f"/api/conversations/{cid}/notes",
        json={"text": "Luis, seguí vos", "to": "agents"},
        headers=staff,
    )
    assert noted.status_code == 200, noted.text
    view = await conversation(platform, cid)
    assert (view["agents_allowed"], view["lara_allowed"]) == (True, False)
    # What the console then offers the agent is what the platform accepts: a reply.
    replied = await platform.http.post(
        f"/api/conversations/{cid}/messages",
        json={"text": "Hola, soy Luis"},
        headers=platform.auth("luis", "agent"),
    )
    assert replied.status_code == 200, replied.text
