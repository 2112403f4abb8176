"""The stream for each person, in a real browser: an agent and a staff member in two
contexts. Customer messages arrive (signed WhatsApp webhooks); both see an unread badge; the
agent opens the chat and their badge clears while the staff member's stays; the staff member
sees the agent en línea; the chat's quality scorecard says cumplido / pendiente in Spanish.
Screenshots at 1366×768 land in `artifacts/`."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip
import pytest

from shared.auth import issue_token
from tests.e2e.console.signin import sign_in_with_token
from tests.e2e.console.test_staff_console import _whatsapp
from tests.support import Platform

expect = pw.expect
expect.set_options(timeout=30_000)


async def _signed_in(browser: Any, url: str, token: str, errors: list[str]) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-AR")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/console")
    await sign_in_with_token(page, token)
    await expect(page.locator("#live-state")).to_have_text("En vivo")
    return context, page


async def test_unread_badges_presence_and_the_scorecard(
    platform: Platform,
    console_url: str,
    browser: Any,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    settings = platform.settings
    # Consoles beat every 2 s; 6 s without a beat and a person is ausente.
    monkeypatch.setattr(settings, "presence_timeout_seconds", 6.0)
    errors: list[str] = []
    luis, ana = f"luis{uuid.uuid4().hex[:6]}", f"ana{uuid.uuid4().hex[:6]}"
    name = f"Pedro Gil {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    ctx_agent, agent = await _signed_in(
        browser, console_url, issue_token(settings, luis, "agent"), errors
    )
    ctx_staff, staff = await _signed_in(
        browser, console_url, issue_token(settings, ana, "staff"), errors
    )

    # Presence: the staff member sees the agent en línea (beats through the platform).
    agent_there = staff.locator(f'.person[data-user="agent:{luis}"]')
    await expect(agent_there).to_contain_text(f"{luis.capitalize()} (agente)")
    await expect(agent_there).to_contain_text("en línea")
    await expect(agent.locator(f'.person[data-user="staff:{ana}"]')).to_contain_text("en línea")

    # Two customer messages arrive: both see a badge of 2 on the conversation, live.
    secret = settings.whatsapp_app_secret
    await _whatsapp(console_url, secret, "Hola, no me llegan los mails", phone, name)
    await _whatsapp(console_url, secret, "¿hay alguien?", phone, name)
    for page in (agent, staff):
        await expect(page.locator(".entry", has_text=name).locator(".unread")).to_have_text("2")
    await agent.screenshot(path=artifacts / "20-agente-con-no-leidos.png")

    # The agent opens the chat: their badge clears; the staff member's stays.
    await agent.locator(".entry", has_text=name).click()
    await expect(agent.locator(".msg", has_text="¿hay alguien?")).to_be_visible()
    await expect(agent.locator(".entry", has_text=name).locator(".unread")).to_have_count(0)
    await expect(staff.locator(".entry", has_text=name).locator(".unread")).to_have_text("2")
    await agent.screenshot(path=artifacts / "21-agente-leyo.png")
    await staff.screenshot(path=artifacts / "22-staff-sigue-sin-leer.png")

    # A third message: the agent has the chat open, so it is seen at once; the staff's
    # badge grows to 3.
    await _whatsapp(console_url, secret, "sigo esperando", phone, name)
    await expect(staff.locator(".entry", has_text=name).locator(".unread")).to_have_text("3")
    await expect(agent.locator(".msg", has_text="sigo esperando")).to_be_visible()
    await expect(agent.locator(".entry", has_text=name).locator(".unread")).to_have_count(0)

    # The staff member opens it (badge clears), takes it and asks the customer to wait: the
    # scorecard judges what was done and leaves what is still due as pendiente.
    await staff.locator(".entry", has_text=name).click()
    await expect(staff.locator(".entry", has_text=name).locator(".unread")).to_have_count(0)
    await staff.get_by_role("button", name="Tomar").click()
    await expect(staff.locator("#conv-holder")).to_have_text(ana.capitalize())
    await expect(staff.locator(".holder-presence")).to_have_text(" (en línea)")
    await staff.get_by_label("Respuesta al cliente").fill(
        "Hola Pedro, soy Ana. Aguardame un momento que reviso tu casilla."
    )
    await staff.get_by_role("button", name="Enviar").click()
    card = staff.locator(".quality-box")
    await expect(card.locator('tr[data-criterion="saludo"] .verdict')).to_have_text("cumplido")
    await expect(card.locator('tr[data-criterion="espera"] .verdict')).to_have_text("cumplido")
    await expect(card.locator('tr[data-criterion="explicacion"] .verdict')).to_have_text(
        "pendiente"
    )
    await expect(card.locator('tr[data-criterion="explicacion"] th')).to_have_text(
        "Explicación de la situación"
    )
    await expect(card.locator(".verdict", has_text="no cumplido")).to_have_count(0)
    await expect(card.locator(".quality-score")).to_contain_text("100 %")
    await card.scroll_into_view_if_needed()
    await staff.screenshot(path=artifacts / "23-revision-de-calidad.png")

    # The agent's console shows the same scorecard (every role reads the review).
    await expect(
        agent.locator('.quality-box tr[data-criterion="explicacion"] .verdict')
    ).to_have_text("pendiente")

    # The agent closes the console: no more beats, and the staff member sees them ausente.
    await ctx_agent.close()
    await expect(agent_there).to_contain_text("ausente")
    await expect(staff.locator(f'.person[data-user="staff:{ana}"]')).to_contain_text("en línea")
    await staff.screenshot(path=artifacts / "24-agente-ausente.png")
    await ctx_staff.close()
    assert not errors, errors
