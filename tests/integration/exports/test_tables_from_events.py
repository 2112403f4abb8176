"""Each table fills from real events through the broker and follows the customers."""

from __future__ import annotations

from tests.integration.exports.helpers import row_where, rows_when, table
from tests.support import Platform
from tests.unit.exports.factories import (
    at,
    call_event,
    chat_event,
    consultation_event,
    customer_event,
    sales_call_event,
    service_event,
    uid,
)


async def test_chats_list_whatsapp_messenger_and_web_conversations(platform: Platform) -> None:
    token = f"Zq{uid()}"
    for channel in ("whatsapp", "messenger", "webchat"):
        await platform.ctx.bus.publish(
            chat_event(channel=channel, name=f"José Martínez {token}", holder=None)
        )
    rows = await rows_when(platform, "chats", 3, q=token)
    assert sorted(r["origen"] for r in rows) == ["Facebook", "Web", "WhatsApp"]
    assert {r["cliente"] for r in rows} == {f"José Martínez {token}"}
    assert {r["responsable"] for r in rows} == {"En cola"}
    assert {r["documento"] for r in rows} == {"30.123.456"}


async def test_ivr_conversations_are_calls_not_chats(platform: Platform) -> None:
    token = f"Zq{uid()}"
    event = call_event(name=f"Ana Peña {token}", call_status="in-progress")
    await platform.ctx.bus.publish(event)
    [row] = await rows_when(platform, "llamadas", 1, q=token)
    assert event.conversation.call is not None
    assert row["id"] == event.conversation.call.call_sid
    assert (row["motivo"], row["ciudad"], row["estado"], row["estado_llamada"]) == (
        "Soporte técnico",
        "Córdoba",
        "ABIERTA",
        "En curso",
    )
    assert (await table(platform, "chats", q=token, estado="todos"))["total"] == 0


async def test_sales_calls_fill_llamadas_ventas(platform: Platform) -> None:
    token = f"Zq{uid()}"
    event = sales_call_event(name=f"Sofía Ibáñez {token}", call_status="in-progress")
    await platform.ctx.bus.publish(event)
    [row] = await rows_when(platform, "llamadas_ventas", 1, q=token, estado="todos")
    assert row["telefono"] == "+5491155554444"
    assert (row["ciudad"], row["motivo"]) == ("Rosario", "Ventas")
    assert (row["estado"], row["estado_llamada"]) == ("ABIERTA", "En curso")


async def test_servicios_follow_the_ticket_lifecycle(platform: Platform) -> None:
    token = f"Zq{uid()}"
    created = service_event(name=f"Luis Núñez {token}", number=f"ST-{token}")
    svc = created.service
    assert svc is not None
    await platform.ctx.bus.publish(created)
    [row] = await rows_when(platform, "servicios", 1, q=token)
    assert (row["numero"], row["estado"], row["motivo"]) == (
        f"ST-{token}",
        "PENDIENTE",
        "Sin conexión a internet",
    )
    await platform.ctx.bus.publish(
        service_event(
            service_id=svc.service_id,
            number=svc.number,
            status="cancelado",
            name=f"Luis Núñez {token}",
            version=3,
        )
    )
    await row_where(
        platform, "servicios", lambda r: r["estado"] == "CANCELADO", q=token, estado="todos"
    )
    assert (await table(platform, "servicios", q=token))["total"] == 0


async def test_consultas_list_the_portal_form(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(consultation_event(name=f"María Gómez {token}"))
    [row] = await rows_when(platform, "consultas", 1, q=token)
    assert row["nombre"] == f"María Gómez {token}"
    assert row["contacto"] == "maria@example.com / +5491100001111"
    assert (row["asunto"], row["estado"]) == ("Facturación de marzo", "ABIERTA")


async def test_the_same_event_delivered_twice_gives_one_row(platform: Platform) -> None:
    token = f"Zq{uid()}"
    event = chat_event(name=f"Doble {token}")
    await platform.ctx.bus.publish(event)
    await platform.ctx.bus.publish(event)
    await rows_when(platform, "chats", 1, q=token)
    # A later marker on the same queue: once it shows, both copies were handled.
    marker = f"Zq{uid()}"
    await platform.ctx.bus.publish(chat_event(name=f"Marca {marker}"))
    await rows_when(platform, "chats", 1, q=marker)
    assert (await table(platform, "chats", q=token, estado="todos"))["total"] == 1


async def test_an_older_snapshot_never_overwrites_a_newer_one(platform: Platform) -> None:
    token = f"Zq{uid()}"
    newer = chat_event(name=f"Nuevo {token}", status="cerrada", preview="gracias", version=5)
    conv_id = newer.conversation.conversation_id
    await platform.ctx.bus.publish(newer)
    await rows_when(platform, "chats", 1, q=token, estado="cerrada")
    await platform.ctx.bus.publish(
        chat_event(conversation_id=conv_id, name=f"Nuevo {token}", preview="hola", version=2)
    )
    marker = f"Zq{uid()}"
    await platform.ctx.bus.publish(chat_event(name=f"Marca {marker}"))
    await rows_when(platform, "chats", 1, q=marker)
    [row] = (await table(platform, "chats", q=token, estado="todos"))["rows"]
    assert (row["estado"], row["ultimo_mensaje"]) == ("CERRADA", "gracias")


async def test_a_renamed_customer_is_renamed_on_every_table(platform: Platform) -> None:
    token, customer = f"Zq{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(chat_event(customer_id=customer, name=f"Juan {token}"))
    await platform.ctx.bus.publish(service_event(customer_id=customer, name=f"Juan {token}"))
    await rows_when(platform, "chats", 1, q=token)
    await rows_when(platform, "servicios", 1, q=token)
    await platform.ctx.bus.publish(
        customer_event(
            "updated",
            customer,
            first_name="Juan",
            last_name=f"Pérez {token}",
            document="40.000.001",
            version=2,
        )
    )
    for name in ("chats", "servicios"):
        row = await row_where(
            platform, name, lambda r: r["cliente"] == f"Juan Pérez {token}", q=token
        )
        assert row["documento"] == "40.000.001"
    # The document is searchable without its dots.
    await rows_when(platform, "servicios", 1, q=f"40000001 {token}")


async def test_a_row_arriving_after_the_rename_shows_the_new_name(platform: Platform) -> None:
    token, customer = f"Zq{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(
        customer_event(
            "identified", customer, first_name="Carla", last_name=f"Ruiz {token}", version=4
        )
    )
    await platform.ctx.bus.publish(
        consultation_event(customer_id=customer, name=f"carla vieja {token}")
    )
    await row_where(platform, "consultas", lambda r: r["nombre"] == f"Carla Ruiz {token}", q=token)


async def test_merged_customer_rows_move_to_the_survivor(platform: Platform) -> None:
    token = f"Zq{uid()}"
    survivor, absorbed = f"cust-{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(
        customer_event("updated", survivor, first_name="Rocío", last_name=f"Survivor {token}")
    )
    await platform.ctx.bus.publish(call_event(customer_id=absorbed, name=f"Duplicado {token}"))
    await rows_when(platform, "llamadas", 1, q=f"duplicado {token}")
    await platform.ctx.bus.publish(
        customer_event(
            "merged",
            survivor,
            first_name="Rocío",
            last_name=f"Survivor {token}",
            merged_customer_id=absorbed,
            version=2,
        )
    )
    await rows_when(platform, "llamadas", 1, q=f"rocio survivor {token}")
    # Later events naming the absorbed customer land on the survivor too.
    await platform.ctx.bus.publish(
        sales_call_event(customer_id=absorbed, name=f"Duplicado {token}")
    )
    [row] = await rows_when(platform, "llamadas_ventas", 1, q=token, estado="todos")
    assert row["cliente"] == f"Rocío Survivor {token}"


async def test_anonymized_customer_rows_lose_name_document_and_contact(platform: Platform) -> None:
    token, customer = f"Zq{uid()}", f"cust-{uid()}"
    event = consultation_event(customer_id=customer, name=f"Elena {token}")
    await platform.ctx.bus.publish(event)
    await rows_when(platform, "consultas", 1, q=token)
    await platform.ctx.bus.publish(
        customer_event("anonymized", customer, anonymized=True, version=9)
    )
    row = await row_where(
        platform,
        "consultas",
        lambda r: r["asunto"] == "Facturación de marzo" and r["nombre"] == "",
        desde="2024-03-10",
        hasta="2024-03-10",
        q=None,
        estado="todos",
        page_size=500,
    )
    assert (row["documento"], row["contacto"]) == ("", "")
    assert (await table(platform, "consultas", q=token, estado="todos"))["total"] == 0


async def test_dates_outside_every_range_are_still_listed_with_todos(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        chat_event(name=f"Viejo {token}", opened_at=at("2019-01-01T12:00"), status="cerrada")
    )
    [row] = await rows_when(platform, "chats", 1, q=token, estado="todos")
    assert row["fecha"] == "01/01/2019 09:00"


async def test_an_older_customer_profile_never_undoes_a_newer_rename(platform: Platform) -> None:
    token, customer = f"Zq{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(service_event(customer_id=customer, name=f"Inicial {token}"))
    await rows_when(platform, "servicios", 1, q=token)
    await platform.ctx.bus.publish(
        customer_event("updated", customer, first_name="Nuevo", last_name=token, version=5)
    )
    await rows_when(platform, "servicios", 1, q=f"nuevo {token}")
    await platform.ctx.bus.publish(
        customer_event("updated", customer, first_name="Viejo", last_name=token, version=3)
    )
    marker = f"cust-{uid()}"
    await platform.ctx.bus.publish(service_event(customer_id=marker, name=f"Marca {marker}"))
    await platform.ctx.bus.publish(
        customer_event("updated", marker, first_name="Marcado", last_name=marker, version=1)
    )
    await rows_when(platform, "servicios", 1, q=f"marcado {marker}")
    [row] = (await table(platform, "servicios", q=token))["rows"]
    assert row["cliente"] == f"Nuevo {token}"


async def test_unmerge_gives_the_rows_back_to_the_absorbed_customer(platform: Platform) -> None:
    token = f"Zq{uid()}"
    survivor, absorbed = f"cust-{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(
        customer_event("updated", absorbed, first_name="Absorbido", last_name=token)
    )
    await platform.ctx.bus.publish(
        customer_event("updated", survivor, first_name="Sobreviviente", last_name=token)
    )
    await platform.ctx.bus.publish(consultation_event(customer_id=absorbed, name=f"x {token}"))
    await rows_when(platform, "consultas", 1, q=f"absorbido {token}")
    await platform.ctx.bus.publish(
        customer_event("merged", survivor, first_name="Sobreviviente", last_name=token,
                       merged_customer_id=absorbed, version=2)
    )  # fmt: skip
    await rows_when(platform, "consultas", 1, q=f"sobreviviente {token}")
    await platform.ctx.bus.publish(
        customer_event("unmerged", survivor, first_name="Sobreviviente", last_name=token,
                       merged_customer_id=absorbed, version=3)
    )  # fmt: skip
    await rows_when(platform, "consultas", 1, q=f"absorbido {token}")


async def test_a_newer_sales_call_revision_updates_the_row(platform: Platform) -> None:
    token = f"Zq{uid()}"
    sid = f"CA{uid()}"
    name = f"Venta {token}"
    await platform.ctx.bus.publish(
        sales_call_event(call_sid=sid, name=name, call_status="ringing", revision=1)
    )
    [row] = await rows_when(platform, "llamadas_ventas", 1, q=token, estado="abierta")
    assert row["estado_llamada"] == "Sonando"
    await platform.ctx.bus.publish(
        sales_call_event(call_sid=sid, name=name, call_status="completed", revision=2)
    )
    [row] = await rows_when(platform, "llamadas_ventas", 1, q=token, estado="cerrada")
    assert row["estado_llamada"] == "Completada"
    assert (await table(platform, "llamadas_ventas", q=token, estado="todos"))["total"] == 1
