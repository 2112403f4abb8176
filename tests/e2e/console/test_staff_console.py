"""Two staff members and the central office use the console in a real browser.

Everything they do goes through the console's own buttons and forms, hence through the
public HTTP API; the only calls the test makes itself are what the outside world does (a
WhatsApp webhook signed like Meta signs it) and reading results back. Screenshots of each
screen at 1366×768 land in `artifacts/`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path
from typing import Any

import httpx
import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip

from shared.auth import issue_token
from tests.e2e.console.signin import sign_in_with_token
from tests.support import Platform, meta_body, meta_signature
from tests.unit.ingest.payloads import wa_text, webchat

expect = pw.expect
expect.set_options(timeout=30_000)

# Uncaught errors of the console's scripts, from every page: each test ends with none.
SCRIPT_ERRORS: list[str] = []


async def _signed_in(browser: Any, url: str, token: str) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-AR")
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = await context.new_page()
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(str(error)))
    await page.goto(f"{url}/console")
    await sign_in_with_token(page, token)
    await expect(page.locator("#live-state")).to_have_text("En vivo")
    return context, page


def _shown(user: str) -> str:
    """A staff member's id as the console names them (`shared.words.person_name`)."""
    return user[:1].upper() + user[1:]


async def _whatsapp(url: str, secret: str, text: str, phone: str, name: str) -> None:
    raw = meta_body(wa_text(text, phone=phone, name=name))
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/webhooks/whatsapp",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(secret, raw),
            },
        )
    assert response.status_code == 200, response.text


async def test_two_staff_members_work_a_whatsapp_chat_live_and_use_the_tables(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    settings = platform.settings
    ana_user, beto_user = f"ana{uuid.uuid4().hex[:6]}", f"beto{uuid.uuid4().hex[:6]}"
    name = f"Marta Núñez {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"

    # Sign-in screen, then both staff members in.
    context_a = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context_a.new_page()
    await page.goto(f"{console_url}/console")
    await page.get_by_text("Con un token de acceso").click()
    await page.get_by_label("Token de acceso (JWT)").fill("esto-no-es-un-token")
    await page.get_by_role("button", name="Ingresar con el token").click()
    await expect(page.locator("#token-error")).to_contain_text("no parece un token")
    await page.screenshot(path=artifacts / "01-ingreso.png")
    await context_a.close()

    ctx_ana, ana = await _signed_in(browser, console_url, issue_token(settings, ana_user, "staff"))
    ctx_beto, beto = await _signed_in(
        browser, console_url, issue_token(settings, beto_user, "staff")
    )

    # A signed WhatsApp webhook arrives: both streams show it, live (nobody reloads).
    await _whatsapp(
        console_url, settings.whatsapp_app_secret, "Hola, no tengo internet", phone, name
    )
    for page in (ana, beto):
        entry = page.locator(".entry", has_text=name)
        await expect(entry).to_be_visible()
        await expect(page.locator(".group-lara .entry", has_text=name)).to_be_visible()
    await ana.screenshot(path=artifacts / "02-actividad-en-vivo.png")

    # Both open it; Ana takes it; Beto sees it taken and cannot reply.
    for page in (ana, beto):
        await page.locator(".entry", has_text=name).click()
        await expect(page.locator(".msg", has_text="Hola, no tengo internet")).to_be_visible()
        await expect(page.locator(".msg.author-lara").first).to_be_visible()
    # Beto's live connection is cut just before Ana takes it (his other requests still
    # work), so his screen still offers Tomar: his click gets the platform's 409, said in
    # Spanish, and his view reloads.
    await ctx_beto.route("**/api/stream/live", lambda route: route.abort())
    await ctx_beto.set_offline(True)
    await expect(beto.locator("#live-state")).to_have_text("Reconectando…")
    await ctx_beto.set_offline(False)
    # His screen also rereads the open conversation every 20 s; on a slow machine that reread
    # can land between Ana's take and his click. His reads wait, as on a slow network, until
    # he acts, so what is tested is his stale screen meeting the 409, not the timer.
    acted = asyncio.Event()

    async def reads_wait_until_he_acts(route: Any) -> None:
        if route.request.method == "GET":
            await acted.wait()
        else:
            acted.set()
        await route.continue_()

    await ctx_beto.route("**/api/conversations/**", reads_wait_until_he_acts)
    await ana.get_by_role("button", name="Tomar").click()
    await expect(ana.locator("#conv-holder")).to_have_text(_shown(ana_user))
    await expect(ana.locator(".group-mine .entry", has_text=name)).to_be_visible()
    await beto.get_by_role("button", name="Tomar").click()
    await expect(beto.locator("#alerts")).to_contain_text("Otra persona ya tomó esta conversación")
    await expect(beto.locator("#conv-holder")).to_have_text(_shown(ana_user))
    await expect(beto.locator(".notice")).to_contain_text("solo quien la tiene puede responder")
    await expect(beto.get_by_label("Respuesta al cliente")).to_be_hidden()
    await expect(beto.get_by_role("button", name="Tomar")).to_have_count(0)
    await expect(beto.locator(".group-staff .entry", has_text=name)).to_be_visible()
    await ctx_beto.unroute("**/api/conversations/**")
    await ctx_beto.unroute("**/api/stream/live")
    await expect(beto.locator("#live-state")).to_have_text("En vivo")
    await beto.screenshot(path=artifacts / "03-conversacion-de-otra-persona.png")

    # Ana replies; the connection drops mid-send: the draft stays and "Reintentar" sends it.
    reply = "Hola Marta, ya revisamos tu conexión."
    await ana.get_by_label("Respuesta al cliente").fill(reply)
    await ctx_ana.set_offline(True)
    await ana.get_by_role("button", name="Enviar").click()
    alert = ana.locator("#alerts .toast", has_text="Sin conexión")
    await expect(alert).to_be_visible()
    await expect(ana.get_by_label("Respuesta al cliente")).to_have_value(reply)
    await ctx_ana.set_offline(False)
    await alert.get_by_role("button", name="Reintentar").click()
    sent = ana.locator(".msg.out", has_text=reply)
    await expect(sent).to_be_visible()
    await expect(sent.locator(".who")).to_have_text(_shown(ana_user))
    await expect(sent.locator(".delivery")).to_be_visible()  # delivery state of what we sent
    await expect(ana.get_by_label("Respuesta al cliente")).to_have_value("")
    await expect(ana.locator("#live-state")).to_have_text("En vivo")
    await expect(beto.locator(".msg.out", has_text=reply)).to_be_visible()  # live for Beto

    # The customer types a password: masked for everyone; only Ana, the holder, may reveal it.
    await _whatsapp(
        console_url,
        settings.whatsapp_app_secret,
        "usuario: marta contraseña: 123456",
        phone,
        name,
    )
    masked = ana.locator(".msg.in", has_text="usuario: marta")
    await expect(masked).to_contain_text("••••")
    await expect(masked).not_to_contain_text("123456")
    await expect(beto.locator(".msg.in", has_text="usuario: marta")).to_contain_text(
        "solo quien tiene la conversación puede verlo"
    )
    await masked.get_by_role("button", name="Mostrar dato oculto (queda registrado)").click()
    await ana.locator("dialog").get_by_role("button", name="Mostrar").click()
    await expect(masked).to_contain_text("contraseña: 123456")
    await expect(masked).to_contain_text("quedó registrado en la auditoría")

    # An internal note.
    await ana.get_by_label("Nota interna (no se envía al cliente)").fill("Corte desde ayer")
    await ana.get_by_role("button", name="Agregar nota").click()
    await expect(ana.locator(".notes li", has_text="Corte desde ayer")).to_be_visible()

    # Opening the chat already recorded "seen": the button says nothing new was recorded.
    await ana.get_by_role("button", name="Marcar como vista").click()
    await expect(ana.locator("#toasts")).to_contain_text("Ya estaba vista")

    # Reassign to an agent picked from the directory: the note is asked for and required.
    await platform.person("luis", "agent", "Luis Pérez")
    await platform.person(beto_user, "staff", _shown(beto_user))
    await ana.get_by_role("button", name="Reasignar").click()
    dialog = ana.locator("dialog")
    await dialog.get_by_label("Persona").select_option(label="Luis Pérez (agente)")
    await dialog.get_by_role("button", name="Asignar").click()
    await expect(dialog.locator(".field-error:not([hidden])")).to_contain_text("es obligatorio")
    await ana.screenshot(path=artifacts / "04-nota-obligatoria.png")
    await dialog.get_by_label("Nota (motivo)").fill("Luis conoce la zona")
    await dialog.get_by_role("button", name="Asignar").click()
    await expect(ana.locator("#conv-holder")).to_have_text("Luis Pérez (agente)")

    # Escalate to Beto with a note: Beto now holds it and may reply.
    await ana.get_by_role("button", name="Escalar").click()
    await dialog.get_by_label("Nota (motivo)").fill("Necesita una visita técnica")
    await dialog.get_by_label("Para una persona del staff (opcional)").select_option(
        f"staff:{beto_user}"
    )
    await dialog.get_by_role("button", name="Escalar").click()
    await expect(ana.locator("#conv-holder")).to_have_text(_shown(beto_user))
    await expect(beto.locator(".group-mine .entry", has_text=name)).to_be_visible()
    await expect(beto.get_by_label("Respuesta al cliente")).to_be_visible()
    await ana.locator(".trail-box summary").click()
    await expect(ana.locator(".trail li", has_text="Necesita una visita técnica")).to_be_visible()
    # "Vista" once per person per new customer message (two messages, both had the chat
    # open), not per open or click: Ana's "Marcar como vista" above added none.
    await expect(ana.locator(".trail li", has_text=f"Vista · {_shown(ana_user)}")).to_have_count(2)
    await expect(ana.locator(".trail li", has_text="Vista")).to_have_count(4)
    await expect(ana.locator(".trail li", has_text="Dato oculto revelado")).to_have_count(1)

    # Tag the customer (with its evidence) and try a bad email in the profile.
    panel = ana.locator(".customer-pane")
    await expect(panel.locator(".customer-title")).to_have_text(name)
    await panel.get_by_role("button", name="Agregar etiqueta").click()
    await dialog.get_by_label("Etiqueta").select_option("fraude")
    await dialog.get_by_label("Nota con la evidencia").fill("Pagó con una tarjeta ajena")
    await dialog.get_by_role("button", name="Agregar").click()
    await expect(panel.locator(".tags .tag", has_text="Fraude")).to_be_visible()
    await expect(
        panel.locator(".history li", has_text="Pagó con una tarjeta ajena")
    ).to_be_visible()
    await ana.screenshot(path=artifacts / "05-conversacion-y-cliente.png")
    await panel.get_by_role("tab", name="Perfil").click()
    await panel.get_by_label("Correo electrónico").fill("marta@")
    await panel.get_by_role("button", name="Guardar cambios").click()
    await expect(panel.locator("#perfil-email-err")).to_contain_text("no es una dirección válida")
    await ana.screenshot(path=artifacts / "06-perfil-validacion.png")
    await panel.get_by_role("tab", name="Resumen").click()
    await panel.get_by_label("Nuevo comentario").fill("Se ofreció visita técnica")
    await panel.get_by_role("button", name="Comentar").click()
    await expect(
        panel.locator(".comments li", has_text="Se ofreció visita técnica")
    ).to_be_visible()
    await panel.get_by_role("tab", name="Identidades").click()
    await expect(panel.locator(".identities li", has_text=f"+{phone}")).to_be_visible()
    await panel.get_by_role("tab", name="Mensajes").click()
    await expect(panel.locator(".past li")).to_have_count(1)
    await ana.screenshot(path=artifacts / "06b-cliente-mensajes.png")

    # Beto closes it.
    await beto.get_by_role("button", name="Finalizar").click()
    await beto.locator("dialog").get_by_role("button", name="Finalizar").click()
    await expect(beto.locator(".conv-head .badge", has_text="CERRADA")).to_be_visible()
    await expect(ana.locator(".group-closed .entry", has_text=name)).to_be_visible()

    # CHATS: filter by the customer, every status; Copy and Print.
    await ana.get_by_role("link", name="Tablas").click()
    await ana.get_by_role("link", name="CHATS").click()
    await ana.get_by_label("BUSCAR").fill(name)
    await ana.get_by_label("ESTADO").select_option("todos")
    row = ana.locator("tbody tr", has_text=name)
    for _ in range(60):
        await ana.get_by_role("button", name="Filtrar").click()
        await ana.wait_for_timeout(250)
        if await row.count() and "CERRADA" in (await row.inner_text()):
            break
    await expect(row).to_have_count(1)
    await ana.screenshot(path=artifacts / "07-tabla-chats.png")
    await ana.get_by_role("button", name="Copiar").click()
    await expect(ana.locator("#toasts", has_text="Copiadas 1 filas")).to_be_visible()
    copied = await ana.evaluate("navigator.clipboard.readText()")
    lines = copied.split("\r\n")
    assert lines[0].split("\t")[:3] == ["ID", "Fecha", "Origen"]
    assert name in lines[1] and "WhatsApp" in lines[1]
    async with ana.expect_popup() as popup_info, ana.expect_response("**/print?**") as printed:
        await ana.get_by_role("button", name="Imprimir").click()
    response = await printed.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    popup = await popup_info.value
    await popup.wait_for_url("blob:**")  # the new tab shows the PDF the console fetched
    opened = await ana.evaluate(
        "async (url) => new TextDecoder().decode((await (await fetch(url)).arrayBuffer())"
        ".slice(0, 5))",
        popup.url,
    )
    assert opened == "%PDF-"
    await popup.screenshot(path=artifacts / "08-imprimir.png")

    await ctx_ana.close()
    await ctx_beto.close()
    assert SCRIPT_ERRORS == []


async def test_the_central_office_confirms_a_service_and_may_not_act_on_chats(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    settings = platform.settings
    name = f"Julián Peña {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    await _whatsapp(console_url, settings.whatsapp_app_secret, "Quiero una visita", phone, name)
    async with httpx.AsyncClient(base_url=console_url) as client:
        staff = {"Authorization": f"Bearer {issue_token(settings, 'ana', 'staff')}"}
        conversation_id = None
        for _ in range(200):
            found = await client.get(
                "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=staff
            )
            if found.json()["items"]:
                conversation_id = found.json()["items"][0]["conversation_id"]
                break
        assert conversation_id
        created = await client.post(
            "/api/services",
            json={"conversation_id": conversation_id, "reason": "Sin señal", "customer_name": name},
            headers=staff,
        )
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        second = await client.post(
            "/api/services",
            json={
                "conversation_id": conversation_id,
                "reason": "Duplicado",
                "customer_name": name,
                "allow_another_open": True,  # one open service per chat unless asked
            },
            headers=staff,
        )
        assert second.status_code == 201, second.text
        duplicate = second.json()["number"]

    context, central = await _signed_in(
        browser, console_url, issue_token(settings, "central1", "central")
    )
    # Role-aware: the central office reads chats but is offered no action on them.
    await central.locator(".entry", has_text=name).click()
    await expect(central.locator(".actions")).to_contain_text("Tu rol solo puede consultar")
    await expect(central.get_by_role("button", name="Tomar")).to_have_count(0)
    await expect(central.get_by_label("Respuesta al cliente")).to_be_hidden()

    await central.get_by_role("link", name="Tablas").click()
    await central.get_by_role("link", name="SERVICIOS").click()
    await central.get_by_label("BUSCAR").fill(name)
    row = central.locator("tbody tr", has_text=number)
    for _ in range(60):
        await central.get_by_role("button", name="Filtrar").click()
        await central.wait_for_timeout(250)
        if await row.count():
            break
    await expect(row.get_by_role("button", name="Confirmar")).to_be_visible()
    await central.screenshot(path=artifacts / "09-servicios-central.png")
    await row.get_by_role("button", name="Confirmar").click()
    await central.locator("dialog").get_by_role("button", name="Confirmar").click()
    await expect(
        central.locator("#toasts", has_text=f"Servicio {number} confirmado")
    ).to_be_visible()
    await expect(row).to_contain_text("CONFIRMADO")
    await expect(row.get_by_role("button", name="Cancelar")).to_have_count(0)

    # Cancelling asks for the reason; a cancelled service leaves the default (open) view.
    other = central.locator("tbody tr", has_text=duplicate)
    await other.get_by_role("button", name="Cancelar").click()
    dialog = central.locator("dialog")
    await dialog.get_by_role("button", name="Cancelar servicio").click()
    await expect(dialog.locator(".field-error:not([hidden])")).to_contain_text("obligatorio")
    await dialog.get_by_label("Motivo de la cancelación").fill("Cargado dos veces")
    await dialog.get_by_role("button", name="Cancelar servicio").click()
    await expect(central.locator("#toasts")).to_contain_text(f"Servicio {duplicate} cancelado")
    await expect(other).to_have_count(0)
    await expect(row).to_have_count(1)
    await context.close()
    assert SCRIPT_ERRORS == []


async def test_a_web_chat_says_it_is_read_only(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    name = f"Julia Web {uuid.uuid4().hex[:5]}"
    async with httpx.AsyncClient(base_url=console_url) as client:
        response = await client.post(
            "/webhooks/webchat",
            json=webchat("¿Cómo cambio mi plan?", name=name, document=None, email=None),
            headers={"Authorization": f"Bearer {platform.settings.webchat_token}"},
        )
    assert response.status_code == 200, response.text
    context, page = await _signed_in(
        browser, console_url, issue_token(platform.settings, "dora", "admin")
    )
    # Keyboard only: Enter on the stream entry opens it; Esc closes a dialog.
    await page.locator(".entry", has_text="¿Cómo cambio mi plan?").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".notice")).to_contain_text("Canal de solo lectura")
    await expect(page.get_by_label("Respuesta al cliente")).to_be_hidden()
    await expect(page.get_by_role("button", name="Tomar")).to_be_visible()  # acting still works
    await page.screenshot(path=artifacts / "10-chat-web-solo-lectura.png")
    await page.get_by_role("button", name="Finalizar").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("dialog")).to_be_visible()
    await expect(page.locator("dialog").get_by_label("Nota (opcional)")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("dialog")).to_be_hidden()
    await expect(page.locator(".conv-head .badge", has_text="ABIERTA")).to_be_visible()
    await context.close()

    # An agent may read it but not act on a conversation Lara holds: nothing is offered.
    context, agent = await _signed_in(
        browser, console_url, issue_token(platform.settings, "luis", "agent")
    )
    await agent.locator(".entry", has_text="¿Cómo cambio mi plan?").click()
    await expect(agent.locator(".actions")).to_contain_text("La tiene Lara: podés consultarla")
    await expect(agent.locator(".actions button")).to_have_count(0)
    await expect(agent.get_by_label("Nota interna (no se envía al cliente)")).to_be_hidden()
    await context.close()
    assert SCRIPT_ERRORS == []


async def test_staff_merge_two_customers_from_a_suggestion_and_undo_it(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    settings = platform.settings
    tag = uuid.uuid4().hex[:5]
    document = str(random.randint(20_000_000, 45_000_000))
    phones = [f"549{random.randint(10**9, 10**10 - 1)}" for _ in range(2)]
    names = [f"Rosa Díaz {tag}", f"Rosa D {tag}"]
    for phone, name in zip(phones, names, strict=True):
        await _whatsapp(console_url, settings.whatsapp_app_secret, "Hola", phone, name)
    staff = {"Authorization": f"Bearer {issue_token(settings, 'ana', 'staff')}"}
    async with httpx.AsyncClient(base_url=console_url) as client:
        ids: list[str] = []
        for phone in phones:
            for _ in range(300):
                found = await client.get("/api/customers", params={"q": phone}, headers=staff)
                if found.json()["items"]:
                    ids.append(found.json()["items"][0]["id"])
                    break
        assert len(ids) == 2
        for customer_id in ids:  # the same person gave the same document twice
            patched = await client.patch(
                f"/api/customers/{customer_id}", json={"document_number": document}, headers=staff
            )
            assert patched.status_code == 200, patched.text

    context, page = await _signed_in(browser, console_url, issue_token(settings, "ana", "staff"))
    await page.locator(".entry", has_text=names[0]).click()
    panel = page.locator(".customer-pane")
    await expect(panel.locator(".customer-title")).to_have_text(names[0])
    await panel.get_by_role("tab", name="Identidades").click()
    suggestion = panel.locator(".suggestions li", has_text=names[1])
    await expect(suggestion).to_contain_text("coincide en documento")
    await suggestion.get_by_role("button", name="Unir a este cliente").click()
    await page.locator("dialog").get_by_role("button", name="Unir").click()
    await expect(page.locator("#toasts")).to_contain_text("Clientes unidos")
    await expect(panel.locator(".identities li")).to_have_count(2)
    await expect(panel.locator(".merges li")).to_have_count(1)
    await page.screenshot(path=artifacts / "11-cliente-identidades.png")
    await panel.get_by_role("button", name="Deshacer unión").click()
    await page.locator("dialog").get_by_role("button", name="Deshacer").click()
    await expect(page.locator("#toasts")).to_contain_text("Unión deshecha")
    await expect(panel.locator(".identities li")).to_have_count(1)
    await expect(panel.locator(".merges li")).to_have_count(0)
    await context.close()
    assert SCRIPT_ERRORS == []
