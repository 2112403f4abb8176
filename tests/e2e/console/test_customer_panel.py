"""An agent and a staff member, in two browser contexts, work the customer panel (seed 003),
tags (seed 000) and quick replies (seed 002) through the console's own controls.

The staff member saves the team's `/saludo` and hands the chat to the agent; the agent tags
the customer with evidence, edits the profile, types `/saludo` in the reply box and sends
it, finds the reply in Casos and comments the case; the staff member then groups customers
and conversations by the tag. Screenshots of every tab of the panel at 1366×768 land in
`artifacts/`; no screen shows `null` or `undefined`.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip

from shared.auth import issue_token
from tests.e2e.console.test_staff_console import SCRIPT_ERRORS, _signed_in, _whatsapp
from tests.support import Platform

expect = pw.expect
expect.set_options(timeout=30_000)

GREETING = "Hola, te escribe el equipo de ToWebs. ¿En qué podemos ayudarte?"


async def _no_codes(page: Any) -> None:
    text = await page.locator("body").inner_text()
    for word in ("null", "undefined", "NaN"):
        assert word not in text, f"the screen shows {word!r}"


async def test_an_agent_tags_edits_and_answers_with_a_quick_reply_and_staff_groups_by_tag(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    settings = platform.settings
    agent_user, staff_user = f"luis{uuid.uuid4().hex[:6]}", f"ana{uuid.uuid4().hex[:6]}"
    name = f"Rosa Díaz {uuid.uuid4().hex[:5]}"
    other = f"Pedro Gil {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    other_phone = f"549{random.randint(10**9, 10**10 - 1)}"
    ctx_staff, staff = await _signed_in(
        browser, console_url, issue_token(settings, staff_user, "staff")
    )
    ctx_agent, agent = await _signed_in(
        browser, console_url, issue_token(settings, agent_user, "agent")
    )
    dialog_staff, dialog_agent = staff.locator("dialog"), agent.locator("dialog")

    # Staff saves the team's /saludo in Respuestas rápidas.
    await staff.get_by_role("link", name="Respuestas rápidas").click()
    await staff.get_by_label('Nombre (lo que escribís después de "/")').fill("saludo")
    await staff.get_by_label("Texto", exact=True).fill(GREETING)
    await staff.get_by_label("Quién la ve").select_option("team")
    await staff.get_by_role("button", name="Guardar respuesta").click()
    await expect(staff.locator("tbody tr", has_text="/saludo")).to_contain_text("Equipo")
    await staff.screenshot(path=artifacts / "20-respuestas-rapidas.png")
    # The agent sees it but may not change the team's.
    await agent.get_by_role("link", name="Respuestas rápidas").click()
    team_row = agent.locator("tbody tr", has_text="/saludo")
    await expect(team_row).to_contain_text("Equipo")
    await expect(team_row.get_by_role("button", name="Editar")).to_have_count(0)
    await expect(agent.get_by_label("Quién la ve").locator("option")).to_have_count(1)

    # Two customers write; staff hands Rosa's chat to the agent.
    for text, number, who in (
        ("Hola, no tengo internet", phone, name),
        ("Hola", other_phone, other),
    ):
        await _whatsapp(console_url, settings.whatsapp_app_secret, text, number, who)
    await staff.get_by_role("link", name="Actividad").click()
    await staff.locator(".entry", has_text=name).click()
    await platform.person(agent_user, "agent", "Luis Díaz")
    await staff.get_by_role("button", name="Asignar").click()
    await dialog_staff.get_by_label("Persona").select_option(label="Luis Díaz (agente)")
    await dialog_staff.get_by_label("Nota (motivo)").fill("Luis conoce la zona")
    await dialog_staff.get_by_role("button", name="Asignar").click()
    await expect(staff.locator("#conv-holder")).to_have_text("Luis Díaz (agente)")

    # The agent tags with evidence ("+" is offered to agents, seed 000).
    await agent.get_by_role("link", name="Actividad").click()
    await agent.locator(".group-mine .entry", has_text=name).click()
    panel = agent.locator(".customer-pane")
    await expect(panel.locator(".customer-title")).to_have_text(name)
    await expect(panel.get_by_role("button", name="Anonimizar")).to_have_count(0)
    await expect(panel.get_by_role("button", name="Exportar datos")).to_be_visible()
    await panel.get_by_role("button", name="Agregar etiqueta").click()
    await dialog_agent.get_by_label("Etiqueta").select_option("svip")
    await dialog_agent.get_by_label("Nota con la evidencia").fill("Alcanzó el nivel SVIP")
    await dialog_agent.get_by_role("button", name="Agregar").click()
    await expect(panel.locator(".tags .tag", has_text="SVIP")).to_be_visible()
    await expect(panel.locator(".history li", has_text="Alcanzó el nivel SVIP")).to_be_visible()

    # ... and edits the profile (editable for agents, seed 003).
    await panel.get_by_role("tab", name="Perfil").click()
    await panel.get_by_label("Empresa").fill("Panadería Rosa")
    await panel.get_by_role("button", name="Guardar cambios").click()
    await expect(agent.locator("#toasts")).to_contain_text("Perfil guardado")
    await expect(panel.get_by_label("Empresa")).to_have_value("Panadería Rosa")
    await _no_codes(agent)
    await agent.screenshot(path=artifacts / "21-panel-perfil-agente.png")

    # "/saludo" in the reply box: the picker offers it, Enter inserts it, Enviar sends it.
    reply = agent.get_by_label("Respuesta al cliente")
    await reply.click()
    await reply.press_sequentially("/salu")
    option = agent.locator(".qr-picker [role=option]", has_text="/saludo")
    await expect(option).to_be_visible()
    await agent.screenshot(path=artifacts / "22-respuesta-rapida-selector.png")
    await reply.press("Enter")
    await expect(reply).to_have_value(GREETING)
    await agent.get_by_role("button", name="Enviar").click()
    await expect(agent.locator(".msg.out", has_text=GREETING)).to_be_visible()
    await expect(staff.locator(".msg.out", has_text=GREETING)).to_be_visible()  # live

    # Resumen: the message history and the comment box.
    await panel.get_by_role("tab", name="Resumen").click()
    log = panel.locator(".message-log li", has_text=GREETING)
    for _ in range(40):  # the panel rereads on its own actions; the reply may be staged
        if await log.count():
            break
        await panel.get_by_role("tab", name="Perfil").click()
        await panel.get_by_role("tab", name="Resumen").click()
        await agent.wait_for_timeout(250)
    await expect(log).to_be_visible()
    await expect(panel.locator(".message-log li", has_text="no tengo internet")).to_be_visible()
    await panel.get_by_label("Nuevo comentario", exact=True).fill("Prefiere que la llamen de tarde")
    await panel.get_by_role("button", name="Comentar").click()
    await expect(panel.locator(".comments li", has_text="de tarde")).to_be_visible()
    await _no_codes(agent)
    await agent.screenshot(path=artifacts / "23-panel-resumen.png")

    # Casos: only the agent's own reply, a comment on the case, then cancelling deletes it.
    await panel.get_by_role("tab", name="Casos").click()
    case = panel.locator(".case")
    await expect(case).to_have_count(1)
    await expect(case.locator(".message-log li")).to_have_count(1)
    await expect(case.locator(".message-log li")).to_contain_text(GREETING)
    await case.get_by_label("Comentario del caso").fill("Le prometí una visita el lunes")
    await case.get_by_role("button", name="Comentar").click()
    await expect(case.locator(".comments li", has_text="visita el lunes")).to_be_visible()
    await _no_codes(agent)
    await agent.screenshot(path=artifacts / "24-panel-casos.png")
    await case.get_by_role("button", name="Cancelar caso").click()
    await dialog_agent.get_by_role("button", name="Cancelar caso").click()
    await expect(case).to_contain_text("sus comentarios se eliminaron")
    await expect(case.locator(".comments li")).to_have_count(0)
    await agent.screenshot(path=artifacts / "25-panel-caso-cancelado.png")

    await panel.get_by_role("tab", name="Mensajes").click()
    await expect(panel.locator(".past li")).to_have_count(1)
    await agent.screenshot(path=artifacts / "26-panel-mensajes.png")
    await panel.get_by_role("tab", name="Identidades").click()
    await expect(panel.locator(".identities li", has_text=f"+{phone}")).to_be_visible()
    await expect(panel.get_by_role("button", name="Bloquear")).to_have_count(0)  # office only
    await expect(panel.get_by_label("Buscar identidades coincidentes")).to_be_visible()
    await _no_codes(agent)
    await agent.screenshot(path=artifacts / "27-panel-identidades.png")

    # Staff groups by the tag: the stream, then the Clientes screen.
    await staff.get_by_label("Etiqueta", exact=True).select_option("svip")
    await expect(staff.locator(".entry", has_text=name)).to_be_visible()
    await expect(staff.locator(".entry", has_text=other)).to_have_count(0)
    await staff.screenshot(path=artifacts / "28-actividad-por-etiqueta.png")
    staff_panel = staff.locator(".customer-pane")
    await expect(staff_panel.get_by_role("button", name="Anonimizar")).to_be_visible()
    await staff_panel.get_by_role("tab", name="Identidades").click()
    await expect(staff_panel.get_by_role("button", name="Bloquear")).to_be_visible()
    await staff.get_by_role("link", name="Clientes").click()
    await staff.get_by_label("ETIQUETA", exact=True).select_option("svip")
    row = staff.locator("tbody tr", has_text=name)
    await expect(row).to_be_visible()
    await expect(staff.locator("tbody tr", has_text=other)).to_have_count(0)
    await row.get_by_role("link", name=name).click()
    await expect(staff.locator(".customer-pane .customer-title")).to_have_text(name)
    await _no_codes(staff)
    await staff.screenshot(path=artifacts / "29-clientes-por-etiqueta.png")

    await ctx_agent.close()
    await ctx_staff.close()
    assert SCRIPT_ERRORS == []
