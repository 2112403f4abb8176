"""Issue 14: the conversations list's `status` filter takes `todos` and the forms people
type, and refuses what it does not know."""

from __future__ import annotations

from tests.integration.routing.helpers import new_identity, open_conversation
from tests.support import Platform


async def test_status_todos_lists_every_status_and_display_forms_are_understood(
    platform: Platform,
) -> None:
    identity_open, identity_closed = new_identity("messenger"), new_identity("messenger")
    opened = await open_conversation(platform, identity_open)
    closed = await open_conversation(platform, identity_closed)
    await platform.http.post(f"/api/conversations/{closed}/close", headers=platform.auth())

    async def listed(identity: str, status: str) -> list[str]:
        response = await platform.http.get(
            "/api/conversations",
            params={"identity": identity, "status": status},
            headers=platform.auth(),
        )
        assert response.status_code == 200, response.text
        return [item["conversation_id"] for item in response.json()["items"]]

    for typed in ("todos", "TODOS"):
        assert await listed(identity_open.key, typed) == [opened]
        assert await listed(identity_closed.key, typed) == [closed]
    for typed in ("CERRADA", "Cerrada", "cerrado"):
        assert await listed(identity_closed.key, typed) == [closed]
        assert await listed(identity_open.key, typed) == []
    assert await listed(identity_open.key, "abierto") == [opened]
    for path in ("/api/conversations", "/api/stream"):
        response = await platform.http.get(
            path, params={"status": "perdida"}, headers=platform.auth()
        )
        assert response.status_code == 422
        assert "use abierta" in response.text
