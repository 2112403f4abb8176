"""First-response marks and satisfaction in a real browser: a WhatsApp chat a staff member
took and left unanswered past its target is "Vencida" in the stream; once answered and
closed, the customer's "5" shows as ★★★★★ on the conversation and in the customer panel.
Screenshots at 1366×768 land in `artifacts/`."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.auth import issue_token
from shared.contracts import utcnow
from tests.e2e.console.signin import sign_in_with_token
from tests.e2e.console.test_staff_console import _whatsapp
from tests.support import Platform, eventually

pw = pytest.importorskip("playwright.async_api")
expect = pw.expect
expect.set_options(timeout=30_000)


async def test_vencida_in_the_stream_then_the_score_on_the_conversation_and_the_panel(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
):
    settings = platform.settings
    errors: list[str] = []
    ana = f"ana{uuid.uuid4().hex[:6]}"
    name = f"Julia Paz {uuid.uuid4().hex[:5]}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-AR")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{console_url}/console")
    await sign_in_with_token(page, issue_token(settings, ana, "staff"))
    await expect(page.locator("#live-state")).to_have_text("En vivo")

    await _whatsapp(console_url, settings.whatsapp_app_secret, "Se cortó el servicio", phone, name)
    entry = page.locator(".entry", has_text=name)
    await expect(entry).to_be_visible()
    headers = {"Authorization": f"Bearer {issue_token(settings, ana, 'staff')}"}

    async def listed() -> list[dict[str, Any]]:
        found = await platform.http.get(
            "/api/conversations", params={"identity": f"whatsapp:+{phone}"}, headers=headers
        )
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    [item] = await eventually(listed)
    cid = item["conversation_id"]
    taken = await platform.http.post(f"/api/conversations/{cid}/take", headers=headers)
    assert taken.status_code == 200
    await expect(entry.locator("[data-target]")).to_have_count(0)  # five minutes to go
    # The target's five minutes, spent: the deadline moved to a second ago (the sweep then
    # records the miss, and its event refreshes the stream).
    past = utcnow() - timedelta(seconds=1)
    await platform.db("routing")["conversations"].update_one(
        {"_id": cid},
        {"$set": {"first_response.due_at": past, "first_response_pending": past}},
    )
    await expect(entry.locator("[data-target]")).to_have_text("Vencida")
    await page.screenshot(path=artifacts / "60-primera-respuesta-vencida.png")

    await entry.click()
    await expect(page.locator(".conv-head")).to_contain_text("Primera respuesta: vencida")
    await page.get_by_label("Respuesta al cliente").fill("Perdón la demora, ya lo revisamos")
    await page.get_by_role("button", name="Enviar").click()
    await expect(page.locator(".conv-head")).to_contain_text(
        "Primera respuesta: respondida fuera de plazo"
    )
    await page.locator('button[data-action="close"]').click()
    await page.get_by_role("dialog").get_by_role("button", name="Finalizar").click()
    await expect(page.locator(".conv-head")).to_contain_text(
        "Encuesta de satisfacción sin respuesta"
    )
    await expect(page.locator(".msg", has_text="Respondé con un número del 1 al 5")).to_be_visible()

    await _whatsapp(console_url, settings.whatsapp_app_secret, "5", phone, name)
    await expect(page.locator("#conv-satisfaction")).to_contain_text("★★★★★ 5/5")
    await page.locator("#tab-mensajes").click()
    await expect(page.locator(".past .satisfaction")).to_contain_text("★★★★★ 5/5")
    await page.screenshot(path=artifacts / "61-satisfaccion-en-la-conversacion.png")
    await page.locator("#tab-resumen").click()
    await expect(page.locator(".summary")).to_contain_text("5 / 5 (1 respuesta")
    await page.screenshot(path=artifacts / "62-satisfaccion-en-el-panel.png")
    assert errors == []
    await context.close()
