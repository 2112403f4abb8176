"""Reportes in a real browser (issue 27): a staff member opens each report of a scripted day
and sees its chart (inline SVG) above its table; an agent is offered PERSONAS only, with
their own row. Screenshots of each report at 1366×768 land in `artifacts/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.auth import issue_token
from tests.e2e.console.signin import sign_in_with_token
from tests.integration.exports.test_reports import Day, settled
from tests.support import Platform

pw = pytest.importorskip("playwright.async_api")
expect = pw.expect
expect.set_options(timeout=30_000)


async def _signed_in(browser: Any, url: str, token: str) -> tuple[Any, Any, list[str]]:
    errors: list[str] = []
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-AR")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/console")
    await sign_in_with_token(page, token)
    await expect(page.locator("#who")).not_to_be_empty()
    return context, page, errors


async def test_staff_see_each_report_as_a_chart_above_its_table(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
) -> None:
    day = Day(platform)
    await day.play()
    await settled(platform, day)
    shown = day.date.strftime("%d/%m/%Y")

    token = issue_token(platform.settings, "sup", "staff")
    context, page, errors = await _signed_in(browser, console_url, token)
    await page.locator("#nav-reportes").click()
    expected = {
        "PERSONAS": ("rect", "TOMADAS"),
        "CANALES": ("circle", "MENSAJES ENTRANTES"),
        "HORAS": ("rect", "DÍA"),
        "LARA": ("rect", "DERIVACIONES"),
        "SERVICIOS": ("rect", "SERVICIOS CREADOS"),
    }
    for number, (tab, (shape, header)) in enumerate(expected.items()):
        await page.get_by_role("link", name=tab, exact=True).click()
        await page.locator("#r-desde").fill(shown)
        await page.locator("#r-hasta").fill(shown)
        await page.get_by_role("button", name="Filtrar").click()
        await expect(page.locator(".table-summary")).to_contain_text(f"Del {shown}")
        await expect(page.locator("svg.chart " + shape).first).to_be_visible()
        await expect(page.locator(".reports thead")).to_contain_text(header)
        await page.screenshot(path=artifacts / f"40-reporte-{number}-{tab.lower()}.png")
    await expect(page.locator(".table-summary")).to_contain_text(shown)
    await page.get_by_role("link", name="LARA", exact=True).click()
    await page.locator("#r-desde").fill(shown)
    await page.locator("#r-hasta").fill(shown)
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.locator(".table-summary")).to_contain_text(
        "Lara resolvió sola 1 de 3 conversaciones cerradas y derivó 3 a personas"
    )
    await context.close()

    agent = day.ana.split(":", 1)[1]
    await platform.person(agent, "agent", name="Ana Reporte")
    context, page, agent_errors = await _signed_in(
        browser, console_url, issue_token(platform.settings, agent, "agent")
    )
    await page.locator("#nav-reportes").click()
    await expect(page.locator(".table-tabs a")).to_have_count(1)
    await page.locator("#r-desde").fill(shown)
    await page.locator("#r-hasta").fill(shown)
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.locator(".reports tbody tr")).to_have_count(1)
    await expect(page.locator(".reports tbody")).to_contain_text("Ana Reporte")
    await page.screenshot(path=artifacts / "45-reporte-agente.png")
    await context.close()
    assert errors == [] and agent_errors == []
