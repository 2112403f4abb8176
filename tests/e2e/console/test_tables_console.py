"""The tables of seed 004 in a real browser: the console opens on LLAMADAS VENTAS, each
table's ESTADO offers its own states in words, Ver shows a call's flow with the IVR bot,
and a staff member takes a free chat from the CHATS table (an agent is not offered Tomar).

The outside world is what the test does itself: a caller going through the IVR's two menu
levels (Twilio's signed requests) and a customer writing on WhatsApp. Screenshots of every
table tab at 1366×768 land in `artifacts/`.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip

from shared.auth import issue_token
from tests.e2e.console.signin import sign_in_with_token
from tests.e2e.console.test_staff_console import _whatsapp
from tests.support import Platform, twilio_signature
from tests.unit.ingest.payloads import twilio_call

expect = pw.expect
expect.set_options(timeout=30_000)

SCRIPT_ERRORS: list[str] = []


async def _signed_in(browser: Any, url: str, token: str) -> tuple[Any, Any]:
    # A browser far from the business time zone: the console's clock must not follow it.
    context = await browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="es-AR", timezone_id="Asia/Tokyo"
    )
    page = await context.new_page()
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(str(error)))
    await page.goto(f"{url}/console")
    await sign_in_with_token(page, token)
    await expect(page.locator("#live-state")).to_have_text("En vivo")
    return context, page


async def _call_through_the_ivr(url: str, token: str, call_sid: str, phone: str) -> None:
    """A caller picks "adquirir el servicio" (3), then "internet para el hogar" (1)."""
    caller = {"From": phone, "Caller": phone, "CallerName": ""}
    live = {"CallStatus": "in-progress", **caller}
    steps = [
        ("", twilio_call(call_sid, **caller)),
        ("step=gather&menu=main", twilio_call(call_sid, Digits="3", **live)),
        ("step=gather&menu=ventas", twilio_call(call_sid, Digits="1", **live)),
    ]
    async with httpx.AsyncClient(base_url=url) as client:
        for query, params in steps:
            target = f"{url}/webhooks/ivr" + (f"?{query}" if query else "")
            response = await client.post(
                target,
                content=urlencode(params).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": twilio_signature(token, target, params),
                },
            )
            assert response.status_code == 200, response.text


async def _filter_until(page: Any, row: Any) -> None:
    """Press Filtrar until the row is listed (the tables are a read model: a moment late)."""
    for _ in range(80):
        await page.get_by_role("button", name="Filtrar").click()
        await page.wait_for_timeout(250)
        if await row.count():
            return
    await expect(row).to_have_count(1)


async def test_tables_open_on_sales_calls_filter_by_their_own_states_show_and_take(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
) -> None:
    settings = platform.settings
    call_sid = f"CA{uuid.uuid4().hex}"
    caller = f"+54935{random.randint(10**7, 10**8 - 1)}"
    await _call_through_the_ivr(console_url, settings.ivr_auth_token, call_sid, caller)
    name = f"Nora Vidal {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    await _whatsapp(console_url, settings.whatsapp_app_secret, "Hola, sin internet", phone, name)
    staff_user = f"ana{uuid.uuid4().hex[:6]}"
    context, ana = await _signed_in(
        browser, console_url, issue_token(settings, staff_user, "staff")
    )

    # Seed 004: "nos ubica automáticamente en LLAMADAS VENTAS".
    await ana.get_by_role("link", name="Tablas").click()
    tabs = ana.get_by_role("navigation", name="Tablas")
    await expect(tabs.locator("a")).to_have_text(
        ["LLAMADAS VENTAS", "LLAMADAS", "CHATS", "CONSULTAS", "SERVICIOS"]
    )
    await expect(tabs.locator("[aria-current=page]")).to_have_text("LLAMADAS VENTAS")
    sale = ana.locator("tbody tr", has_text=call_sid)
    await _filter_until(ana, sale)
    await expect(sale).to_contain_text("Ventas: internet para el hogar")
    await expect(sale).to_contain_text("ABIERTA")
    await ana.screenshot(path=artifacts / "20-tabla-llamadas-ventas.png")

    # LLAMADAS: its ESTADO offers the call's own states, in the rows' words.
    await tabs.get_by_role("link", name="LLAMADAS", exact=True).click()
    estado = ana.get_by_label("ESTADO")
    await expect(estado.locator("option")).to_have_text(
        ["Abiertas (predeterminado)", "ABIERTA", "CERRADA", "GENERÓ SERVICIO TÉCNICO", "Todos"]
    )
    await estado.select_option(label="ABIERTA")
    # DESDE is written day first; another form is refused in words, before any request.
    await ana.get_by_label("DESDE").fill("2026-12-31")
    await ana.get_by_role("button", name="Filtrar").click()
    await expect(ana.locator("#alerts")).to_contain_text("dd/mm/aaaa")
    await ana.locator("#alerts").get_by_role("button", name="Cerrar aviso").click()
    today = datetime.now(ZoneInfo(settings.tz)).strftime("%d/%m/%Y")
    await ana.get_by_label("DESDE").fill(today)
    call = ana.locator("tbody tr", has_text=call_sid)
    await _filter_until(ana, call)
    await expect(ana.locator("#alerts")).not_to_contain_text("no es válido")
    await expect(call).to_contain_text("Ventas: internet para el hogar")
    await ana.screenshot(path=artifacts / "21-tabla-llamadas.png")

    # Ver: the caller's flow with the IVR bot.
    await call.get_by_role("button", name="Ver").click()
    dialog = ana.locator("dialog")
    await expect(dialog.get_by_role("heading", name=f"Llamada {call_sid}")).to_be_visible()
    flow = dialog.locator(".call-flow li")
    await expect(flow.first).to_contain_text("Bot de llamadas")
    await expect(flow.filter(has_text="internet en su hogar")).to_have_count(1)
    await expect(dialog).to_contain_text("Sin grabación registrada")
    await expect(dialog).not_to_contain_text("system:")
    await ana.screenshot(path=artifacts / "22-ver-llamada.png")
    await dialog.get_by_role("button", name="Cerrar").click()

    # CONSULTAS and SERVICIOS, for the record of every tab.
    for title, shot in (("CONSULTAS", "23-tabla-consultas"), ("SERVICIOS", "24-tabla-servicios")):
        await tabs.get_by_role("link", name=title).click()
        await expect(ana.locator(".table-summary")).to_contain_text("fila")
        await ana.screenshot(path=artifacts / f"{shot}.png")

    # CHATS: an agent sees Ver but no Tomar; the staff member takes the free chat.
    agent_context, luis = await _signed_in(
        browser, console_url, issue_token(settings, "luis", "agent")
    )
    await luis.goto(f"{console_url}/console/#/tablas/chats")
    chat_for_agent = luis.locator("tbody tr", has_text=name)
    await _filter_until(luis, chat_for_agent)
    await expect(chat_for_agent.get_by_role("button", name="Ver")).to_be_visible()
    await expect(chat_for_agent.get_by_role("button", name="Tomar")).to_have_count(0)
    await agent_context.close()

    await tabs.get_by_role("link", name="CHATS").click()
    chat = ana.locator("tbody tr", has_text=name)
    await _filter_until(ana, chat)
    await expect(chat).to_contain_text("WhatsApp")
    await expect(chat).to_contain_text("Lara")
    await ana.screenshot(path=artifacts / "25-tabla-chats.png")
    opened = (await chat.locator("td").nth(1).inner_text()).replace("\n", " ")
    assert opened.startswith(today), opened  # dd/mm/aaaa in the business time zone
    await chat.get_by_role("button", name="Tomar").click()
    holder = staff_user[:1].upper() + staff_user[1:]
    await expect(ana.locator("#conv-holder")).to_have_text(holder)
    # One clock: the conversation says the same time the CHATS table says.
    await expect(ana.locator(".conv-head")).to_contain_text(f"Abierta {opened}")
    await expect(ana.locator(".msg", has_text="Hola, sin internet")).to_be_visible()
    await ana.screenshot(path=artifacts / "26-chat-tomado.png")
    await context.close()
    assert SCRIPT_ERRORS == []
