"""Two routing replicas behind one team: presence beaten on one replica is read on the other,
and "seen" recorded on one replica clears that person's unread count on the other (both live
in MongoDB, never in a process)."""

from __future__ import annotations

import asyncio

import httpx

from shared.auth import issue_token
from shared.config import Settings
from tests.brokers import RabbitNode, scaled
from tests.faults.harness import random_phone, whatsapp_text
from tests.faults.replicas import ReplicaSet, delete_partition_queues, replica_settings
from tests.support import eventually


async def test_presence_and_unread_are_the_same_on_every_replica(
    fault_settings: Settings, fault_broker: RabbitNode
):
    settings = replica_settings(fault_settings).model_copy(update={"presence_timeout_seconds": 2.0})
    replicas = ReplicaSet(settings)
    await replicas.start(fault_broker.ctl)
    luis = {"Authorization": f"Bearer {issue_token(settings, 'luis', 'agent')}"}
    ana = {"Authorization": f"Bearer {issue_token(settings, 'ana', 'staff')}"}
    try:
        async with (
            httpx.AsyncClient(base_url=replicas.front.base_url) as one,
            httpx.AsyncClient(base_url=replicas.routing.base_url) as two,
        ):
            # Presence: the agent beats on replica 1; the staff member reads replica 0.
            assert (await two.post("/api/presence", headers=luis)).status_code == 200
            team = (await one.get("/api/presence", headers=ana)).json()
            assert {"user": "agent:luis", "status": "en_linea"}.items() <= next(
                p for p in team["people"] if p["user"] == "agent:luis"
            ).items()
            await asyncio.sleep(2.5)
            team = (await one.get("/api/presence", headers=ana)).json()
            assert next(p for p in team["people"] if p["user"] == "agent:luis")["label"] == (
                "ausente"
            )

            # Unread: a customer writes; the agent sees it on replica 1; replica 0 agrees.
            phone = random_phone()
            raw, headers = whatsapp_text(
                settings.whatsapp_app_secret, phone, f"wamid.{phone}", "hola, no tengo internet"
            )
            assert (await one.post("/webhooks/whatsapp", content=raw, headers=headers)).is_success

            async def conversation_id() -> str | None:
                page = await one.get(
                    "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=ana
                )
                items = page.json()["items"]
                return items[0]["conversation_id"] if items else None

            cid = await eventually(conversation_id, timeout=scaled(60))
            seen = await two.post(f"/api/conversations/{cid}/seen", headers=luis)
            assert seen.json()["recorded"] is True
            for client, who, unread in ((one, luis, 0), (two, luis, 0), (one, ana, 1)):
                detail = await client.get(f"/api/conversations/{cid}", headers=who)
                assert detail.json()["unread"] == unread
            again = await one.post(f"/api/conversations/{cid}/seen", headers=luis)
            assert again.json()["recorded"] is False  # once, whichever replica is asked
    finally:
        replicas.stop()
        await delete_partition_queues(settings)
