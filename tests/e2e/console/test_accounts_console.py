"""Issue 22 item 1 in a real browser: an admin signs in with user and password, creates an
agent in Usuarios; the agent, in another browser, signs in with the password the console
showed once, sees their own name, and signs out; the session is over on the server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip

from tests.support import Platform

expect = pw.expect
expect.set_options(timeout=30_000)

VIEWPORT = {"width": 1366, "height": 768}


async def _page(browser: Any, url: str, errors: list[str]) -> tuple[Any, Any]:
    context = await browser.new_context(viewport=VIEWPORT, locale="es-AR")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/console")
    return context, page


async def _sign_in(page: Any, user: str, password: str) -> None:
    await page.get_by_label("Usuario", exact=True).fill(user)
    await page.get_by_label("Contraseña", exact=True).fill(password)
    await page.get_by_role("button", name="Ingresar", exact=True).click()


async def test_an_admin_creates_an_agent_who_signs_in_sees_their_name_and_signs_out(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    errors: list[str] = []
    boss = f"jefa{uuid.uuid4().hex[:6]}"
    boss_password = await platform.person(boss, "admin", "Julia Jefa")
    agent_id = f"luis{uuid.uuid4().hex[:6]}"

    # The sign-in page: a wrong password is refused in Spanish, the password field emptied.
    ctx_admin, admin = await _page(browser, console_url, errors)
    await expect(admin.get_by_role("heading", name="Consola de atención")).to_be_visible()
    await _sign_in(admin, boss, "no-es-la-clave")
    await expect(admin.locator("#login-error")).to_have_text("Usuario o contraseña incorrectos.")
    await expect(admin.get_by_label("Contraseña", exact=True)).to_have_value("")
    await admin.screenshot(path=artifacts / "20-ingreso-usuario-y-clave.png")
    await _sign_in(admin, boss, boss_password)
    await expect(admin.locator("#who")).to_have_text("Julia Jefa · administración")
    cookies = {c["name"]: c for c in await ctx_admin.cookies()}
    assert cookies["cc_session"]["httpOnly"] and cookies["cc_session"]["sameSite"] == "Strict"

    # Usuarios: create the agent; the generated password is shown once.
    await admin.get_by_role("link", name="Usuarios").click()
    await expect(admin.get_by_role("heading", name="Usuarios")).to_be_visible()
    await admin.get_by_label("Usuario (para ingresar)").fill(agent_id)
    await admin.get_by_label("Nombre y apellido").fill("Luis Pérez")
    await admin.get_by_label("Rol", exact=True).select_option("agent")
    await admin.get_by_role("button", name="Crear usuario").click()
    notice = admin.locator("#password-notice")
    await expect(notice).to_contain_text("Contraseña de Luis Pérez")
    password = (await notice.locator("code.secret").inner_text()).strip()
    row = admin.locator(f'tr[data-user="{agent_id}"]')
    await expect(row).to_contain_text("Agente")
    await expect(row).to_contain_text("Activo")
    await admin.screenshot(path=artifacts / "21-usuarios.png")

    # The agent, in another browser: signs in, sees their name, and has no Usuarios.
    ctx_agent, agent = await _page(browser, console_url, errors)
    await _sign_in(agent, agent_id, password)
    await expect(agent.locator("#who")).to_have_text("Luis Pérez · agente")
    await expect(agent.locator("#live-state")).to_have_text("En vivo")
    await expect(agent.get_by_role("link", name="Usuarios")).to_be_hidden()
    session_cookie = {c["name"]: c["value"] for c in await ctx_agent.cookies()}["cc_session"]

    # A reload keeps the session (the cookie), then Salir ends it on the server.
    await agent.reload()
    await expect(agent.locator("#who")).to_have_text("Luis Pérez · agente")
    await agent.get_by_role("button", name="Salir").click()
    await expect(agent.get_by_role("button", name="Ingresar", exact=True)).to_be_visible()
    async with httpx.AsyncClient(base_url=console_url) as client:
        replay = await client.get("/api/me", headers={"Cookie": f"cc_session={session_cookie}"})
    assert replay.status_code == 401

    # The admin disables him: he cannot sign in any more.
    await row.get_by_role("button", name="Deshabilitar").click()
    await admin.locator("dialog").get_by_role("button", name="Deshabilitar").click()
    await expect(row).to_contain_text("Deshabilitado")
    await _sign_in(agent, agent_id, password)
    await expect(agent.locator("#login-error")).to_have_text("Usuario o contraseña incorrectos.")

    await ctx_agent.close()
    await ctx_admin.close()
    assert errors == []
