"""End to end: a customer writes on the web chat; the chats table lists it, password masked."""

from __future__ import annotations

import uuid

from tests.integration.exports.helpers import row_where, table
from tests.support import Platform
from tests.unit.exports.factories import uid


async def test_a_web_chat_message_reaches_the_chats_table_with_its_secret_masked(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    document = str(40_000_000 + uuid.uuid4().int % 9_000_000)
    body = {
        "session_id": f"s-{uid()}",
        "message_id": str(uuid.uuid4()),
        "text": "usuario: juan contraseña: 123456",
        "name": f"Íñigo Peña {token}",
        "document": document,
    }
    headers = {"Authorization": f"Bearer {platform.settings.webchat_token}"}
    response = await platform.http.post("/webhooks/webchat", json=body, headers=headers)
    assert response.status_code == 200, response.text

    row = await row_where(
        platform, "chats", lambda r: "contraseña" in r["ultimo_mensaje"], q=document
    )
    assert row["origen"] == "Web"
    assert "123456" not in row["ultimo_mensaje"]
    assert (await table(platform, "chats", q="inigo pena " + token))["total"] == 1
    copy = await platform.http.get(
        "/api/tables/chats/copy", params={"q": document}, headers=platform.auth()
    )
    assert "123456" not in copy.text
    assert f"Íñigo Peña {token}" in copy.text
