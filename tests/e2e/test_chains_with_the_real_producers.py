"""Every producer → consumer chain with the real producer on the real broker: what one
service publishes is what the next one understands. (The services' own tests feed their
consumers with hand-built events; these start from the producer's public input.)"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from shared.words import status_word
from tests.bus_probe import bus_probe
from tests.integration.exports.helpers import row_where
from tests.integration.routing.helpers import conversation, new_identity, open_conversation
from tests.support import Platform, eventually, twilio_signature
from tests.unit.ingest.payloads import twilio_call


def token() -> str:
    return f"Zq{uuid.uuid4().hex[:8]}"


async def post_ivr(platform: Platform, params: dict[str, str], query: str = "") -> None:
    url = "http://testserver/webhooks/ivr" + (f"?{query}" if query else "")
    response = await platform.http.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(platform.settings.ivr_auth_token, url, params),
        },
    )
    assert response.status_code == 200, response.text


async def test_a_sales_call_goes_from_the_ivr_through_routing_to_tickets_and_exports(
    platform: Platform,
):
    """ingest → routing (conversation.* with the call) → tickets (ticket.sales_call) and
    exports (llamadas from conversation.*, llamadas_ventas from ticket.sales_call)."""
    mark = token()
    call_sid = f"CA{uuid.uuid4().hex}"
    phone = f"+54935{uuid.uuid4().int % 10**8:08d}"
    caller = {"From": phone, "Caller": phone, "CallerName": f"Sofía Ventas {mark}"}
    await post_ivr(platform, twilio_call(call_sid, **caller))
    await post_ivr(
        platform,
        twilio_call(call_sid, CallStatus="in-progress", Digits="3", **caller),
        "step=gather&menu=main",
    )

    def this_sale(row: dict[str, str]) -> bool:
        return row["id"] == call_sid and row["motivo"] == "Ventas"

    call_row = await row_where(platform, "llamadas", this_sale, estado="todos", q=mark)
    assert call_row["cliente"] == f"Sofía Ventas {mark}"
    sales_row = await row_where(platform, "llamadas_ventas", this_sale, estado="todos", q=mark)
    assert sales_row["telefono"] == phone
    assert sales_row["motivo"] == "Ventas"


async def test_a_portal_consultation_reaches_the_consultas_table_and_follows_its_state(
    platform: Platform,
):
    """tickets (consultation.created / consultation.closed) → exports consultas."""
    mark = token()
    form = {
        "name": f"Íñigo Consulta {mark}",
        "document_number": "30.555.777",
        "email": "inigo@example.com",
        "subject": "Factura duplicada",
        "text": "Me llegaron dos facturas este mes.",
    }
    portal = {"Authorization": f"Bearer {platform.settings.portal_token}"}
    created = await platform.http.post("/api/consultations", json=form, headers=portal)
    assert created.status_code == 201, created.text
    consultation = created.json()

    def named(row: dict[str, str]) -> bool:
        return row["nombre"] == form["name"]

    row = await row_where(platform, "consultas", named, q=mark)
    assert (row["asunto"], row["estado"]) == ("Factura duplicada", "ABIERTA")

    closed = await platform.http.post(
        f"/api/consultations/{consultation['consultation_id']}/close",
        json={"note": "resuelta por teléfono"},
        headers=platform.auth("ana", "staff"),
    )
    assert closed.status_code == 200, closed.text
    final = closed.json()["status"]
    row = await row_where(
        platform,
        "consultas",
        lambda r: named(r) and r["estado"] == status_word(final),
        q=mark,
        estado="todos",
    )
    assert row["estado"] != "ABIERTA"


async def test_a_staff_rename_in_customers_reaches_routing_and_exports(platform: Platform):
    """customers (customer.updated) → routing (the conversation's customer) and exports
    (the chats row's client)."""
    mark = token()
    cid = await open_conversation(
        platform, new_identity("whatsapp"), "hola, quiero cambiar mi plan"
    )

    async def customer_id() -> str | None:
        view: dict[str, Any] = await conversation(platform, cid)
        return view.get("customer_id")

    owner = await eventually(customer_id)
    renamed = f"Renombrada Por Staff {mark}"
    response = await platform.http.patch(
        f"/api/customers/{owner}", json={"display_name": renamed}, headers=platform.auth()
    )
    assert response.status_code == 200, response.text

    async def routing_knows() -> bool:
        return (await conversation(platform, cid)).get("customer_name") == renamed

    await eventually(routing_knows)
    row = await row_where(platform, "chats", lambda r: r["id"] == cid, q=mark, estado="todos")
    assert row["cliente"] == renamed


async def test_a_service_created_in_tickets_reaches_routing_the_customer_and_exports(
    platform: Platform,
):
    """tickets (ticket.created) → routing (the conversation marks it and tells the customer,
    outbound.*) and exports (servicios)."""
    mark = token()
    identity = new_identity("whatsapp")
    cid = await open_conversation(platform, identity, "sigo sin internet")
    async with bus_probe(platform.settings, "outbound.#") as probe:
        created = await platform.http.post(
            "/api/services",
            json={
                "conversation_id": cid,
                "reason": "Sin conexión",
                "customer_name": f"Cliente Servicio {mark}",
            },
            headers=platform.auth("ana", "staff"),
        )
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        told = f"Tu número de servicio técnico es {number}"
        [outbound] = await probe.wait_for(conversation_id=cid, text=told)
        assert outbound["identity"]["external_id"] == identity.external_id

    view = await conversation(platform, cid)
    assert view["status"] == "genero_servicio_tecnico"
    assert told in [m["text"] for m in view["messages"]]
    row = await row_where(
        platform, "servicios", lambda r: number in r.values(), q=mark, estado="todos"
    )
    assert row["estado"] == "PENDIENTE"
