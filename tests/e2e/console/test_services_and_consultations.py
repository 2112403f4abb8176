"""Technical services and consultations in the console, with each role in its own browser:
an agent generates a service from a chat (its number shown and really sent to the
customer's WhatsApp), staff may cancel but not confirm, the central office confirms; staff
answer a consultation by email (a real SMTP server receives it) and close it, and turn
another into a service; a second staff member is not offered Devolver/Finalizar on a chat
the first one took.

The platform here sends for real: WhatsApp through a Graph API stand-in, email through an
aiosmtpd server, both on this machine. Screenshots at 1366×768 land in `artifacts/`.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import playwright.async_api as pw  # a dev dependency: missing is an error, not a skip
import pytest
import uvicorn

from shared.auth import Role, issue_token
from shared.config import Settings
from tests.conftest import _delete_namespace
from tests.e2e.console.signin import sign_in_with_token
from tests.fixtures.graph.smtp import SmtpServer
from tests.fixtures.graph.standin import GraphStandIn, text_of
from tests.support import Platform, eventually, meta_body, meta_signature, twilio_signature
from tests.unit.ingest.payloads import twilio_call, wa_text

expect = pw.expect
expect.set_options(timeout=30_000)

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
WA_TOKEN = "EAAG-console-whatsapp-token"
PAGE_TOKEN = "EAAG-console-page-token"

SCRIPT_ERRORS: list[str] = []


@pytest.fixture(scope="module")
async def graph() -> AsyncIterator[GraphStandIn]:
    standin = GraphStandIn(
        version=VERSION,
        phone_number_id=PHONE_NUMBER_ID,
        whatsapp_token=WA_TOKEN,
        page_token=PAGE_TOKEN,
    )
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def platform(
    settings: Settings, graph: GraphStandIn, smtp: SmtpServer
) -> AsyncIterator[Platform]:
    """This module's own platform (namespace and databases) with sending configured."""
    namespace = f"s{uuid.uuid4().hex[:10]}"
    ours = settings.model_copy(
        update={
            "bus_namespace": namespace,
            "mongo_db_prefix": f"{namespace}_",
            "whatsapp_access_token": WA_TOKEN,
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "messenger_page_access_token": PAGE_TOKEN,
            "graph_api_base_url": graph.base_url,
            "graph_api_version": VERSION,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "smtp_from": "Soporte ToWebs <soporte@towebs.example>",
        }
    )
    platform = Platform(ours)
    await platform.start()
    yield platform
    await platform.stop()
    await _delete_namespace(ours)


@pytest.fixture(scope="module")
async def console_url(platform: Platform) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        platform.app, lifespan="off", log_config=None, timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}"
    server.should_exit = True
    await task
    sock.close()


async def _signed_in(
    browser: Any, url: str, settings: Settings, user: str, role: Role
) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-AR")
    page = await context.new_page()
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(str(error)))
    await page.goto(f"{url}/console")
    await sign_in_with_token(page, issue_token(settings, user, role))
    await expect(page.locator("#live-state")).to_have_text("En vivo")
    return context, page


async def _customer_writes(url: str, settings: Settings, text: str, phone: str, name: str) -> None:
    raw = meta_body(wa_text(text, phone=phone, name=name, phone_number_id=PHONE_NUMBER_ID))
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/webhooks/whatsapp",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(settings.whatsapp_app_secret, raw),
            },
        )
    assert response.status_code == 200, response.text


def _buttons(page: Any) -> Any:
    return page.locator(".conv-body .actions button")


async def test_an_agent_generates_a_service_from_a_chat_and_the_central_office_confirms_it(
    platform: Platform, console_url: str, browser: Any, artifacts: Path, graph: GraphStandIn
) -> None:
    settings = platform.settings
    tag = uuid.uuid4().hex[:5]
    agent_user, ana_user = f"luis{tag}", f"ana{tag}"
    name = f"Pedro Gómez {tag}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    await _customer_writes(console_url, settings, "Hola, no salen los mails", phone, name)

    ctx_ana, ana = await _signed_in(browser, console_url, settings, ana_user, "staff")
    await ana.locator(".entry", has_text=name).click()
    await platform.person(agent_user, "agent", f"Luis {tag}")
    await ana.get_by_role("button", name="Asignar").click()
    dialog = ana.locator("dialog")
    await dialog.get_by_label("Persona").select_option(label=f"Luis {tag} (agente)")
    await dialog.get_by_label("Nota (motivo)").fill("Luis atiende correo")
    await dialog.get_by_role("button", name="Asignar").click()
    await expect(ana.locator("#conv-holder")).to_have_text(f"Luis {tag} (agente)")

    # The agent holds it: Devolver, Servicio técnico, Finalizar; never Tomar or Asignar, and
    # no CONSULTAS (an office screen).
    ctx_luis, luis = await _signed_in(browser, console_url, settings, agent_user, "agent")
    await expect(luis.locator("#nav-consultas")).to_be_hidden()
    await luis.get_by_role("link", name="Tablas").click()
    await expect(luis.locator(".table-tabs a")).to_have_text(
        ["LLAMADAS VENTAS", "LLAMADAS", "CHATS", "SERVICIOS"]
    )
    await luis.get_by_role("link", name="Actividad").click()
    await luis.locator(".group-mine .entry", has_text=name).click()
    await expect(_buttons(luis)).to_have_text(
        ["Devolver", "Escalar", "Marcar como vista", "Servicio técnico", "Finalizar"]
    )

    await luis.get_by_role("button", name="Servicio técnico").click()
    dialog = luis.locator("dialog")
    await expect(dialog.get_by_label("Nombre del cliente")).to_have_value(name)
    await dialog.get_by_role("button", name="Generar servicio").click()
    await expect(dialog.locator(".field-error:not([hidden])")).to_contain_text("Motivo")
    await dialog.get_by_label("Motivo").fill("Mails encolados en el servidor")
    await dialog.get_by_label("Detalle del inconveniente").fill("No salen correos desde ayer.")
    await luis.screenshot(path=artifacts / "20-servicio-formulario.png")
    await dialog.get_by_role("button", name="Generar servicio").click()
    await expect(luis.locator("#toasts")).to_contain_text("se le envía el número al cliente")
    service = luis.locator(".services-box .service").first
    await expect(service).to_contain_text("Pendiente")
    number = (await service.locator(".service-number").inner_text()).strip()
    assert number.startswith("ST-")
    # The agent may neither confirm nor cancel (POLICY): no buttons on the service.
    await expect(service.locator("button")).to_have_count(0)
    # The number reaches the customer: in the conversation, and on WhatsApp for real.
    sent_text = f"Tu número de servicio técnico es {number}"
    await expect(luis.locator(".msg.out", has_text=sent_text)).to_be_visible()

    async def delivered() -> bool:
        return any(text_of(r.body) == sent_text for r in graph.accepted())

    await eventually(delivered, timeout=30)
    await luis.screenshot(path=artifacts / "21-servicio-numero-agente.png")

    # Staff see the number; they may cancel but not confirm.
    await ana.reload()
    staff_service = ana.locator(".services-box .service", has_text=number)
    await expect(staff_service).to_contain_text("Pendiente")
    await expect(staff_service.get_by_role("button", name="Cancelar")).to_be_visible()
    await expect(staff_service.get_by_role("button", name="Confirmar")).to_have_count(0)
    await ana.screenshot(path=artifacts / "22-servicio-staff.png")

    # The central office confirms from the conversation (it may not act on the chat itself).
    ctx_central, central = await _signed_in(browser, console_url, settings, "oficina", "central")
    await central.locator(".entry", has_text=name).click()
    await expect(_buttons(central)).to_have_count(0)
    central_service = central.locator(".services-box .service", has_text=number)
    await central_service.get_by_role("button", name="Confirmar").click()
    await central.locator("dialog").get_by_role("button", name="Confirmar").click()
    await expect(central.locator("#toasts")).to_contain_text(f"Servicio {number} confirmado")
    await expect(central_service).to_contain_text("Confirmado")
    await expect(central_service.locator("button")).to_have_count(0)
    await central.screenshot(path=artifacts / "23-servicio-confirmado-central.png")

    # Once confirmed, staff are no longer offered Cancelar.
    await ana.reload()
    await expect(staff_service).to_contain_text("Confirmado")
    await expect(staff_service.locator("button")).to_have_count(0)
    for context in (ctx_ana, ctx_luis, ctx_central):
        await context.close()
    assert SCRIPT_ERRORS == []


async def test_a_second_staff_member_is_not_offered_what_only_the_holder_may_do(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
) -> None:
    settings = platform.settings
    tag = uuid.uuid4().hex[:5]
    name = f"Carla Ruiz {tag}"
    phone = f"549{random.randint(10**9, 10**10 - 1)}"
    await _customer_writes(console_url, settings, "Se cortó el servicio", phone, name)
    ctx_ana, ana = await _signed_in(browser, console_url, settings, f"ana{tag}", "staff")
    ctx_beto, beto = await _signed_in(browser, console_url, settings, f"beto{tag}", "staff")
    await ana.locator(".entry", has_text=name).click()
    await ana.get_by_role("button", name="Tomar").click()
    await expect(ana.locator("#conv-holder")).to_have_text(f"Ana{tag}")
    await expect(_buttons(ana)).to_have_text(
        ["Devolver", "Reasignar", "Marcar como vista", "Servicio técnico", "Finalizar"]
    )

    await beto.locator(".entry", has_text=name).click()
    await expect(beto.locator("#conv-holder")).to_have_text(f"Ana{tag}")
    # Devolver and Finalizar are the holder's; Beto reassigns with a note if he must.
    await expect(_buttons(beto)).to_have_text(
        ["Reasignar", "Marcar como vista", "Servicio técnico"]
    )
    # A note to Lara or the agents hands the chat back: only the holder may address one.
    for option in ("lara", "agents"):
        await expect(beto.locator(f"#note-to option[value='{option}']")).to_be_hidden()
    await beto.screenshot(path=artifacts / "24-chat-tomado-por-otra-persona.png")

    # Ana, the holder, generates a service and cancels it from the panel, with a reason.
    await ana.get_by_role("button", name="Servicio técnico").click()
    dialog = ana.locator("dialog")
    await dialog.get_by_label("Motivo").fill("Corte de fibra")
    await dialog.get_by_role("button", name="Generar servicio").click()
    service = ana.locator(".services-box .service").first
    await expect(service).to_contain_text("Pendiente")
    await expect(service.get_by_role("button", name="Confirmar")).to_have_count(0)
    await service.get_by_role("button", name="Cancelar").click()
    await dialog.get_by_label("Motivo de la cancelación").fill("Volvió el servicio solo")
    await dialog.get_by_role("button", name="Cancelar servicio").click()
    await expect(service).to_contain_text("Cancelado")
    await expect(service).to_contain_text("Volvió el servicio solo")
    await expect(service.locator("button")).to_have_count(0)
    await ana.screenshot(path=artifacts / "29-servicio-cancelado.png")
    await ctx_ana.close()
    await ctx_beto.close()
    assert SCRIPT_ERRORS == []


async def _consultation(url: str, settings: Settings, **fields: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/consultations",
            json=fields,
            headers={"Authorization": f"Bearer {settings.portal_token}"},
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_staff_answer_a_consultation_by_email_close_it_and_turn_another_into_a_service(
    platform: Platform, console_url: str, browser: Any, artifacts: Path, smtp: SmtpServer
) -> None:
    settings = platform.settings
    tag = uuid.uuid4().hex[:5]
    email = f"marta.{tag}@example.com"
    await _consultation(
        console_url,
        settings,
        name=f"Marta Sosa {tag}",
        document_number="20123456",
        email=email,
        subject="Factura duplicada",
        text="Me llegó dos veces la factura de noviembre.\n¿Cuál pago?",
    )
    await _consultation(
        console_url,
        settings,
        name=f"Raúl Vera {tag}",
        document_number="27999888",
        phone="+54 9 11 5555-0101",
        subject="Sin conexión",
        text="Desde el lunes no tengo internet en el local.",
    )

    ctx, ana = await _signed_in(browser, console_url, settings, f"ana{tag}", "staff")
    await ana.get_by_role("link", name="Consultas").click()
    await ana.get_by_label("BUSCAR").fill(tag)
    await ana.get_by_role("button", name="Filtrar").click()
    await expect(ana.locator(".consultation-list .entry")).to_have_count(2)
    await ana.locator(".consultation-list .entry", has_text="Marta Sosa").click()
    await expect(ana.locator(".consultation-text")).to_contain_text(
        "Me llegó dos veces la factura de noviembre."
    )
    await expect(ana.locator(".consultation-data")).to_contain_text(email)
    await expect(ana.locator(".consultation-detail")).not_to_contain_text("null")
    await ana.screenshot(path=artifacts / "25-consulta.png")

    await ana.get_by_role("button", name="Responder").click()
    dialog = ana.locator("dialog")
    await expect(dialog.get_by_label("Responder por")).to_have_value("email")
    answer = "Hola Marta, anulamos la factura repetida: pagá solo la del día 10."
    await dialog.get_by_label("Respuesta").fill(answer)
    await dialog.get_by_role("button", name="Responder").click()
    await expect(ana.locator("#answer-delivery")).to_have_text("Enviada al cliente")
    await expect(ana.locator("#consultation-status")).to_have_text("Respondida")
    [mail] = smtp.mailbox.parsed(email)
    assert mail["Subject"] == "Re: Factura duplicada"
    assert answer in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    await ana.screenshot(path=artifacts / "26-consulta-respondida.png")

    await ana.get_by_role("button", name="Cerrar consulta").click()
    await ana.locator("dialog").get_by_role("button", name="Cerrar consulta").click()
    await expect(ana.locator("#consultation-status")).to_have_text("Cerrada")
    await expect(ana.locator(".consultation-detail .actions button")).to_have_count(0)

    # The other one becomes a technical service.
    await ana.locator(".consultation-list .entry", has_text="Raúl Vera").click()
    await expect(ana.locator(".consultation-text")).to_contain_text("no tengo internet")
    await ana.get_by_role("button", name="Generar servicio técnico").click()
    dialog = ana.locator("dialog")
    await expect(dialog.get_by_label("Motivo")).to_have_value("Sin conexión")
    await dialog.get_by_role("button", name="Generar servicio").click()
    await expect(ana.locator("#consultation-status")).to_have_text("Generó servicio técnico")
    await expect(ana.locator(".consultation-data")).to_contain_text("ST-")
    await expect(ana.locator("#toasts")).to_contain_text("se le envía el número al cliente")
    # The customer left only a phone: the number goes to their WhatsApp.
    await expect(ana.locator("#number-delivery")).to_have_text(" · enviado al cliente por WhatsApp")
    await expect(ana.locator(".consultation-detail")).not_to_contain_text("null")
    await expect(ana.locator(".consultation-detail .actions button")).to_have_count(0)
    await ana.screenshot(path=artifacts / "27-consulta-genero-servicio.png")
    await ctx.close()
    assert SCRIPT_ERRORS == []


async def _call_step(platform: Platform, params: dict[str, str], query: str = "") -> None:
    """One step of a phone call, posted and signed as Twilio does."""
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


async def test_staff_generate_a_service_from_a_call_row(
    platform: Platform, console_url: str, browser: Any, artifacts: Path
) -> None:
    settings = platform.settings
    sid = f"CA{uuid.uuid4().hex}"
    await _call_step(platform, twilio_call(sid))
    await _call_step(
        platform, twilio_call(sid, Digits="1", CallStatus="in-progress"), "step=gather&menu=main"
    )
    ctx, ana = await _signed_in(browser, console_url, settings, "ana", "staff")
    await ana.get_by_role("link", name="Tablas").click()
    await ana.get_by_role("link", name="LLAMADAS", exact=True).click()
    row = ana.locator("tbody tr", has_text=sid)
    for _ in range(60):
        await ana.get_by_role("button", name="Filtrar").click()
        await ana.wait_for_timeout(250)
        if await row.count():
            break
    await row.get_by_role("button", name="Servicio técnico").click()
    dialog = ana.locator("dialog")
    await dialog.get_by_label("Motivo").fill("Sin tono en la línea")
    await dialog.get_by_label("Nombre del cliente").fill("Hugo Paz")
    await dialog.get_by_role("button", name="Generar servicio").click()
    # A call cannot receive a message: staff are told to give the number themselves.
    toasts = ana.locator("#toasts")
    await expect(toasts).to_contain_text("comunicale el número por correo o teléfono")
    await ana.screenshot(path=artifacts / "28-servicio-desde-llamada.png")
    listed = await platform.http.get(
        "/api/services", params={"q": "Hugo Paz"}, headers=platform.auth("ana", "staff")
    )
    [service] = [s for s in listed.json()["items"] if s["call_sid"] == sid]
    assert service["reason"] == "Sin tono en la línea" and service["conversation_id"]
    await ctx.close()
    assert SCRIPT_ERRORS == []
