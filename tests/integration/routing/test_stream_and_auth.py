"""The activity stream's order, listing filters, and authentication failures."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt

from shared.contracts import utcnow
from tests.integration.routing.helpers import new_identity, open_conversation, uid
from tests.support import Platform


async def test_stream_lists_mine_then_other_staff_then_agents_then_lara_then_queue_then_closed(
    platform: Platform,
):
    me = uid("me")
    channel = "messenger"
    # A dedicated staff member and filters keep other tests' conversations out of the groups
    # that matter; they all share the "other staff/agent/lara/queue/closed" groups.
    closed = await open_conversation(platform, new_identity(channel))
    lara = await open_conversation(platform, new_identity(channel))
    agent = await open_conversation(platform, new_identity(channel))
    other = await open_conversation(platform, new_identity(channel))
    queued = await open_conversation(platform, new_identity(channel))
    mine = await open_conversation(platform, new_identity(channel))
    h = platform.auth
    await platform.http.post(f"/api/conversations/{closed}/close", headers=h("x"))
    await platform.person("z", "agent")
    await platform.http.post(
        f"/api/conversations/{agent}/assign", json={"to": "agent:z", "note": "n"}, headers=h("x")
    )
    await platform.http.post(f"/api/conversations/{other}/take", headers=h(uid("o")))
    await platform.http.post(
        f"/api/conversations/{queued}/escalate", json={"note": "n"}, headers=h("x")
    )
    await platform.http.post(f"/api/conversations/{mine}/take", headers=h(me))
    items: list[dict[str, object]] = []
    page = 1
    while True:
        response = await platform.http.get(
            "/api/stream",
            params={"channel": channel, "page": page, "page_size": 7},
            headers=h(me),
        )
        assert response.status_code == 200
        body = response.json()
        items += body["items"]
        if page * 7 >= body["total"]:
            break
        page += 1
    assert len(items) == body["total"]
    order = [str(i["conversation_id"]) for i in items]
    assert order[0] == mine
    positions = [order.index(c) for c in (mine, other, agent, lara, queued, closed)]
    assert positions == sorted(positions)

    def group(item: dict[str, object]) -> int:
        holder = item["holder"]
        if item["status"] == "cerrada":
            return 5
        if holder == f"staff:{me}":
            return 0
        if holder is None:
            return 4
        return {"staff": 1, "agent": 2, "lara": 3}[str(holder).split(":")[0]]

    groups = [group(i) for i in items]
    assert groups == sorted(groups)


async def _whole_stream(platform: Platform, **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    page = 1
    while True:
        response = await platform.http.get(
            "/api/stream",
            params={**params, "page": page, "page_size": 200},
            headers=platform.auth(),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if page * 200 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


async def test_stream_filters_by_status(platform: Platform):
    cid = await open_conversation(platform, new_identity("messenger"))
    still_open = await open_conversation(platform, new_identity("messenger"))
    closed = await platform.http.post(f"/api/conversations/{cid}/close", headers=platform.auth())
    assert closed.status_code == 200, closed.text
    assert closed.json()["conversation"]["status"] == "cerrada"

    closed_items = await _whole_stream(platform, status="cerrada", channel="messenger")
    assert {i["status"] for i in closed_items} == {"cerrada"}
    ids = [i["conversation_id"] for i in closed_items]
    assert cid in ids and still_open not in ids

    open_ids = [
        i["conversation_id"]
        for i in await _whole_stream(platform, status="abierta", channel="messenger")
    ]
    assert still_open in open_ids and cid not in open_ids


async def test_list_filters_by_identity_channel_and_holder(platform: Platform):
    identity = new_identity()
    cid = await open_conversation(platform, identity)
    response = await platform.http.get(
        "/api/conversations",
        params={"identity": identity.key, "channel": "whatsapp", "holder": "lara"},
        headers=platform.auth(),
    )
    body = response.json()
    assert body["total"] == 1
    assert body["items"][0]["conversation_id"] == cid
    assert (body["page"], body["page_size"]) == (1, 50)


async def test_request_without_a_token_is_401(platform: Platform):
    response = await platform.http.get("/api/conversations")
    assert response.status_code == 401
    response = await platform.http.post("/api/conversations/x/take")
    assert response.status_code == 401


async def test_expired_token_is_401(platform: Platform):
    claims = {"sub": "ana", "role": "staff", "exp": utcnow() - timedelta(minutes=1)}
    token = jwt.encode(claims, platform.settings.auth_secret, algorithm="HS256")
    response = await platform.http.get("/api/stream", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_tampered_token_is_401(platform: Platform):
    token = platform.auth("ana", "agent")["Authorization"].split()[1]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    response = await platform.http.get(
        "/api/stream", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    assert response.status_code == 401


async def test_token_signed_with_another_secret_is_401(platform: Platform):
    claims = {"sub": "ana", "role": "staff", "exp": utcnow() + timedelta(minutes=5)}
    token = jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    response = await platform.http.get("/api/stream", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_alg_none_token_is_401(platform: Platform):
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    exp = int((utcnow() + timedelta(minutes=5)).timestamp())
    token = (
        f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': 'x', 'role': 'admin', 'exp': exp})}."
    )
    response = await platform.http.get("/api/stream", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_agent_on_a_staff_only_action_is_403(platform: Platform):
    cid = await open_conversation(platform)
    for action, body in (("take", None), ("assign", {"to": "agent:a", "note": "n"})):
        response = await platform.http.post(
            f"/api/conversations/{cid}/{action}", json=body, headers=platform.auth("luis", "agent")
        )
        assert response.status_code == 403, action


async def test_central_role_may_read_but_not_act(platform: Platform):
    cid = await open_conversation(platform)
    read = await platform.http.get(
        f"/api/conversations/{cid}", headers=platform.auth("c", "central")
    )
    assert read.status_code == 200
    act = await platform.http.post(
        f"/api/conversations/{cid}/close", headers=platform.auth("c", "central")
    )
    assert act.status_code == 403
