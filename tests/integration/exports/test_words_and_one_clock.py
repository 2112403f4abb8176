"""Issue 22, items 5 and 6: the tables as seed 004 shows them, in one language and one clock.

The screen (JSON), Copy (TSV) and Print (PDF, read back with pypdf) show the same words for
every code: statuses, channels, Twilio's call states, bots and people; every time is in the
business time zone as dd/mm/aaaa; each table's ESTADO filter takes its own states and
refuses the others; a caller whose phone belongs to a customer is named; the IVR's second
level gives the specific motive and an invalid choice a clear word.
"""

from __future__ import annotations

import csv
import io
import random
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader

from tests.integration.exports.helpers import row_where, rows_when, table
from tests.support import Platform, twilio_signature
from tests.unit.exports.factories import (
    at,
    call_event,
    chat_event,
    customer_event,
    service_event,
    uid,
)
from tests.unit.ingest.payloads import twilio_call

IVR_URL = "http://testserver/webhooks/ivr"
CODES = re.compile(
    r"\b(abierta|cerrada|genero_servicio_tecnico|completed|in-progress|no-answer|ringing|"
    r"whatsapp|messenger|webchat|system:\S+|staff:\S+|agent:\S+|null|None)\b"
)


async def _copy(platform: Platform, name: str, **params: Any) -> list[dict[str, str]]:
    response = await platform.http.get(
        f"/api/tables/{name}/copy", params=params, headers=platform.auth()
    )
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text), delimiter="\t"))


async def _print_words(platform: Platform, name: str, **params: Any) -> str:
    response = await platform.http.get(
        f"/api/tables/{name}/print", params=params, headers=platform.auth()
    )
    assert response.status_code == 200, response.text
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


async def _three_views(
    platform: Platform, name: str, **params: Any
) -> tuple[dict[str, str], dict[str, str], str]:
    """One row as the screen, Copy (by column label) and Print show it."""
    body = await table(platform, name, **params)
    [row] = body["rows"]
    labels = {c["key"]: c["label"] for c in body["columns"]}
    [copied] = await _copy(platform, name, **params)
    return (
        row,
        {key: copied[label] for key, label in labels.items()},
        await _print_words(platform, name, **params),
    )


async def test_a_chat_reads_the_same_words_on_screen_in_copy_and_in_print(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    event = chat_event(
        name=f"Rita Solís {token}",
        channel="messenger",
        holder="staff:ana.maria",
        status="genero_servicio_tecnico",
        opened_at=at("2024-07-01T02:05"),  # 30/06/2024 23:05 in Buenos Aires
    )
    await platform.ctx.bus.publish(event)
    await rows_when(platform, "chats", 1, q=token, estado="todos")
    row, copied, printed = await _three_views(platform, "chats", q=token, estado="todos")
    assert (row["origen"], row["estado"], row["responsable"], row["fecha"]) == (
        "Facebook",
        "GENERÓ SERVICIO TÉCNICO",
        "Ana Maria",
        "30/06/2024 23:05",
    )
    assert copied == row
    for key in ("origen", "estado", "responsable", "fecha", "cliente"):
        assert row[key] in printed, key
    assert not CODES.search(" ".join(row.values()).replace(row["id"], ""))
    assert not CODES.search(printed.replace(row["id"], ""))


async def test_people_read_by_their_directory_names_on_screen_in_copy_and_in_print(
    platform: Platform,
) -> None:
    token = f"Dn{uid()}"
    login = f"agente{uid()}"
    await platform.person(login, "agent", "Luciana Pérez Ríos")
    event = chat_event(name=f"Tomás Gil {token}", channel="whatsapp", holder=f"agent:{login}")
    await platform.ctx.bus.publish(event)
    await rows_when(platform, "chats", 1, q=token, estado="todos")
    row, copied, printed = await _three_views(platform, "chats", q=token, estado="todos")
    assert row["responsable"] == "Luciana Pérez Ríos (agente)"
    assert copied["responsable"] == row["responsable"]
    assert "Luciana Pérez Ríos (agente)" in printed
    assert login not in printed


async def test_a_call_reads_its_state_and_motive_in_words_in_all_three_views(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        call_event(name=f"Omar Paz {token}", call_status="completed", motive=None)
    )
    await rows_when(platform, "llamadas", 1, q=token)
    row, copied, printed = await _three_views(platform, "llamadas", q=token)
    assert (row["estado"], row["estado_llamada"], row["motivo"]) == (
        "ABIERTA",
        "Completada",
        "Sin motivo",
    )
    assert copied == row
    assert "Completada" in printed and "completed" not in printed


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("llamadas_ventas", ["genero_servicio_tecnico", "in-progress", "completed", "pendiente"]),
        ("llamadas", ["in-progress", "completed", "ringing", "respondida", "pendiente"]),
        ("chats", ["respondida", "pendiente", "completed"]),
        ("consultas", ["pendiente", "confirmado", "completed"]),
        ("servicios", ["respondida", "genero_servicio_tecnico", "completed"]),
    ],
)
async def test_each_table_filters_by_its_own_states_and_refuses_the_others(
    platform: Platform, name: str, refused: list[str]
) -> None:
    catalogue = (await platform.http.get("/api/tables", headers=platform.auth())).json()
    [spec] = [t for t in catalogue["tables"] if t["name"] == name]
    assert spec["states"], name
    for state in spec["states"]:
        for typed in (state["value"], state["label"]):
            response = await platform.http.get(
                f"/api/tables/{name}", params={"estado": typed}, headers=platform.auth()
            )
            assert response.status_code == 200, (typed, response.text)
    for typed in refused:
        response = await platform.http.get(
            f"/api/tables/{name}", params={"estado": typed}, headers=platform.auth()
        )
        assert response.status_code == 422, (name, typed)
        assert response.json()["error"]["code"] == "bad_filter"


async def test_the_catalogue_lists_the_seed_tabs_in_order_with_words_and_the_clock(
    platform: Platform,
) -> None:
    staff = (await platform.http.get("/api/tables", headers=platform.auth())).json()
    assert [t["name"] for t in staff["tables"]] == [
        "llamadas_ventas",
        "llamadas",
        "chats",
        "consultas",
        "servicios",
    ]
    assert staff["tables"][0]["title"] == "LLAMADAS VENTAS"
    llamadas = next(t for t in staff["tables"] if t["name"] == "llamadas")
    assert [s["label"] for s in llamadas["states"]] == [
        "ABIERTA",
        "CERRADA",
        "GENERÓ SERVICIO TÉCNICO",
    ]
    assert [f["label"] for f in llamadas["filters"]] == ["BUSCAR", "DESDE", "HASTA", "ESTADO"]
    assert staff["time_zone"] == platform.settings.tz
    assert staff["words"]["bots"]["system:ivr"] == "Bot de llamadas"
    assert staff["words"]["call_states"]["completed"] == "Completada"
    agent = (await platform.http.get("/api/tables", headers=platform.auth("luis", "agent"))).json()
    assert "consultas" not in [t["name"] for t in agent["tables"]]


async def test_a_caller_whose_phone_belongs_to_a_customer_shows_the_customers_name(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    phone = f"+54911{random.randint(10**7, 10**8 - 1)}"
    # The customer is known first: a call from their phone arrives nameless.
    await platform.ctx.bus.publish(
        customer_event(
            "updated",
            f"cust-{uid()}",
            first_name="Elena",
            last_name=f"Ruiz {token}",
            document="28.999.000",
            mobile_phone=phone,
        )
    )
    first = call_event(name=None, document=None, caller=phone, customer_id=f"ivr-{uid()}")
    await platform.ctx.bus.publish(first)
    [row] = await rows_when(platform, "llamadas", 1, q=token)
    assert (row["cliente"], row["documento"]) == (f"Elena Ruiz {token}", "28.999.000")
    # The call first (listed nameless), then the customer who owns the phone.
    other = f"+54911{random.randint(10**7, 10**8 - 1)}"
    day = f"20{random.randint(31, 60)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}"
    nameless = call_event(
        name=None,
        document=None,
        caller=other,
        customer_id=f"ivr-{uid()}",
        opened_at=at(f"{day}T15:00"),
    )
    await platform.ctx.bus.publish(nameless)
    assert nameless.conversation.call is not None
    sid = nameless.conversation.call.call_sid
    row = await row_where(platform, "llamadas", lambda r: r["id"] == sid, desde=day, hasta=day)
    assert row["cliente"] == ""
    later = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        customer_event(
            "updated", f"cust-{uid()}", first_name="Hugo", last_name=later, mobile_phone=other
        )
    )
    [row] = await rows_when(platform, "llamadas", 1, q=later)
    assert row["cliente"] == f"Hugo {later}"


async def _ivr(platform: Platform, params: dict[str, str], query: str = "") -> str:
    url = IVR_URL + (f"?{query}" if query else "")
    response = await platform.http.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(platform.settings.ivr_auth_token, url, params),
        },
    )
    assert response.status_code == 200, response.text
    return response.text


async def test_the_ivr_second_level_gives_the_specific_motive_and_a_bad_choice_a_word(
    platform: Platform,
) -> None:
    chosen, mistaken = f"CA{uid()}", f"CA{uid()}"
    await _ivr(platform, twilio_call(chosen))
    asked = await _ivr(
        platform,
        twilio_call(chosen, CallStatus="in-progress", Digits="1"),
        "step=gather&menu=main",
    )
    assert "menu=soporte" in asked  # the second level is asked next
    await _ivr(
        platform,
        twilio_call(chosen, CallStatus="in-progress", Digits="2"),
        "step=gather&menu=soporte",
    )
    row = await row_where(
        platform, "llamadas", lambda r: r["id"] == chosen and ":" in r["motivo"], estado="todos"
    )
    assert row["motivo"] == "Soporte técnico: internet lento o intermitente"

    await _ivr(platform, twilio_call(mistaken))
    await _ivr(
        platform,
        twilio_call(mistaken, CallStatus="in-progress", Digits="7"),
        "step=gather&menu=main",
    )
    row = await row_where(
        platform,
        "llamadas",
        lambda r: r["id"] == mistaken and r["motivo"] != "Sin motivo",
        estado="todos",
    )
    assert row["motivo"] == "Opción no válida"


async def test_dates_are_day_first_in_the_business_time_zone_everywhere(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    # 02:30 UTC on 1 January is 23:30 on 31 December in Buenos Aires (UTC-3).
    await platform.ctx.bus.publish(
        service_event(name=f"Año Nuevo {token}", created_at=at("2025-01-01T02:30"))
    )
    await rows_when(platform, "servicios", 1, q=token)
    row, copied, printed = await _three_views(
        platform, "servicios", q=token, desde="2024-12-31", hasta="2024-12-31"
    )
    assert row["fecha"] == copied["fecha"] == "31/12/2024 23:30"
    assert "31/12/2024 23:30" in printed
    assert "desde 31/12/2024" in printed and "2024-12-31" not in printed
    assert re.search(r"Generado el \d\d/\d\d/\d{4} \d\d:\d\d", printed)
