"""Issue 14 on the exports tables: a call's state is its conversation's, status filters take
the forms people type, documents are found however they are written, Print reads as words
and names, and an unmerge gives rows back exactly."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.integration.exports.helpers import rows_when, table
from tests.support import Platform, eventually
from tests.unit.exports.factories import (
    call_event,
    chat_event,
    customer_event,
    service_event,
    uid,
)


def _call(token: str, sid: str, status: str, version: int, twilio: str = "in-progress"):  # type: ignore[no-untyped-def]
    event = call_event(call_sid=sid, name=f"Ana Peña {token}", call_status=twilio, version=version)
    event.conversation.status = status  # type: ignore[assignment]
    return event


async def test_a_call_is_open_until_attended_and_closed_when_attended(platform: Platform) -> None:
    token, sid = f"Zq{uid()}", f"CA{uid()}"
    await platform.ctx.bus.publish(_call(token, sid, "abierta", 1))
    [row] = await rows_when(platform, "llamadas", 1, q=token)  # the default (open) view
    assert (row["estado"], row["estado_llamada"]) == ("ABIERTA", "En curso")
    [row] = await rows_when(platform, "llamadas", 1, q=token, estado="abierta")
    # Twilio ends the call while nobody attended it yet: still open.
    await platform.ctx.bus.publish(_call(token, sid, "abierta", 2, twilio="completed"))
    [row] = await rows_when(platform, "llamadas", 1, q=token, estado="ABIERTA")
    assert row["estado_llamada"] in ("En curso", "Completada")
    await platform.ctx.bus.publish(_call(token, sid, "cerrada", 3, twilio="completed"))
    [row] = await rows_when(platform, "llamadas", 1, q=token, estado="cerrada")
    assert (row["estado"], row["estado_llamada"]) == ("CERRADA", "Completada")
    assert (await table(platform, "llamadas", q=token))["total"] == 0


async def test_a_call_that_led_to_a_service_shows_it_whichever_event_comes_first(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    first_call, first_service = f"CA{uid()}", f"CA{uid()}"
    # The call first, then its service.
    await platform.ctx.bus.publish(_call(token, first_call, "abierta", 1))
    await rows_when(platform, "llamadas", 1, q=token)
    service = service_event(name=f"Ana Peña {token}")
    assert service.service is not None
    service.service.call_sid = first_call
    await platform.ctx.bus.publish(service)
    [row] = await rows_when(platform, "llamadas", 1, q=token, estado="GENERÓ SERVICIO TÉCNICO")
    assert row["id"] == first_call
    # The service first (by conversation), then the call, then the call's closing.
    other = _call(token, first_service, "abierta", 1)
    service = service_event(name=f"Ana Peña {token}")
    assert service.service is not None
    service.service.conversation_id = other.conversation.conversation_id
    await platform.ctx.bus.publish(service)
    await rows_when(platform, "servicios", 2, q=token, estado="todos")
    await platform.ctx.bus.publish(other)
    await platform.ctx.bus.publish(_call(token, first_service, "cerrada", 2, twilio="completed"))
    rows = await rows_when(platform, "llamadas", 2, q=token, estado="genero servicio tecnico")
    assert {r["id"] for r in rows} == {first_call, first_service}


async def test_status_filters_take_display_forms_and_refuse_unknown_values(
    platform: Platform,
) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(chat_event(name=f"Cerrada {token}", status="cerrada"))
    await platform.ctx.bus.publish(chat_event(name=f"Abierta {token}", status="abierta"))
    await rows_when(platform, "chats", 2, q=token, estado="todos")
    for typed in ("CERRADA", "Cerrada", "cerrado", "cerrada"):
        [row] = await rows_when(platform, "chats", 1, q=token, estado=typed)
        assert row["cliente"] == f"Cerrada {token}", typed
    [row] = await rows_when(platform, "chats", 1, q=token, estado="abierto")
    assert row["cliente"] == f"Abierta {token}"
    auth = platform.auth()
    for name, typed in (("chats", "completed"), ("servicios", "abierta2"), ("llamadas", "xyz")):
        for suffix in ("", "/copy", "/print"):
            response = await platform.http.get(
                f"/api/tables/{name}{suffix}", params={"estado": typed}, headers=auth
            )
            assert response.status_code == 422, (name, suffix, response.text)
            assert "expected one of" in response.text  # whatever the error shape


async def test_a_document_typed_with_dashes_finds_the_same_rows_as_with_dots(
    platform: Platform,
) -> None:
    token = uid()
    number = int(token, 16) % 100_000_000
    document = f"{number // 1_000_000:02d}.{number // 1000 % 1000:03d}.{number % 1000:03d}"
    await platform.ctx.bus.publish(chat_event(name=f"Doc {token}", document=document))
    [row] = await rows_when(platform, "chats", 1, q=document)
    for separator in ("-", " ", "", "/"):
        typed = document.replace(".", separator)
        [same] = await rows_when(platform, "chats", 1, q=typed)
        assert same["id"] == row["id"], typed


async def test_print_shows_what_a_person_reads(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        chat_event(name=f"Lucía {token}", status="genero_servicio_tecnico", holder="staff:ana")
    )
    await platform.ctx.bus.publish(_call(token, f"CA{uid()}", "abierta", 1, twilio="no-answer"))
    await rows_when(platform, "chats", 1, q=token, estado="todos")
    await rows_when(platform, "llamadas", 1, q=token)
    printed = await platform.http.get(
        "/api/tables/chats/print", params={"q": token, "estado": "todos"}, headers=platform.auth()
    )
    assert printed.status_code == 200, printed.text
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.content)).pages)
    words = " ".join(text.split())
    assert "GENERÓ SERVICIO TÉCNICO" in words
    assert "genero_servicio" not in text and "…" not in text
    assert "staff:ana" not in text and "Ana" in words
    printed = await platform.http.get(
        "/api/tables/llamadas/print", params={"q": token}, headers=platform.auth()
    )
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.content)).pages).split()
    )
    assert "ABIERTA" in text and "Sin respuesta" in text and "no-answer" not in text


async def test_unmerge_gives_a_call_row_its_own_name_and_document_back(
    platform: Platform,
) -> None:
    """After the merge, routing's next snapshot of the absorbed customer's call names the
    survivor; the unmerge still gives the row back to the absorbed customer, exactly."""
    token = f"Zq{uid()}"
    survivor, absorbed = f"cust-{uid()}", f"cust-{uid()}"
    await platform.ctx.bus.publish(
        customer_event("updated", survivor, first_name="Sobreviviente", last_name=token,
                       document="20.000.001")
    )  # fmt: skip
    sid = f"CA{uid()}"
    call = call_event(call_sid=sid, customer_id=absorbed, name=f"Absorbido {token}",
                      document="27.000.002")  # fmt: skip
    await platform.ctx.bus.publish(call)
    await rows_when(platform, "llamadas", 1, q=f"absorbido {token}")
    await platform.ctx.bus.publish(
        customer_event("merged", survivor, first_name="Sobreviviente", last_name=token,
                       document="20.000.001", merged_customer_id=absorbed, version=2)
    )  # fmt: skip
    await rows_when(platform, "llamadas", 1, q=f"sobreviviente {token}")
    relinked = call_event(call_sid=sid, customer_id=survivor, name=f"Sobreviviente {token}",
                          document="20.000.001", version=2)  # fmt: skip
    await platform.ctx.bus.publish(relinked)
    stored = platform.db("exports")["rows"]

    async def relinked_stored() -> bool:
        # The row showed the survivor already (the merge): wait for the snapshot itself.
        return bool(await stored.find_one({"_id": f"llamadas:{sid}", "version": 2}))

    await eventually(relinked_stored)
    await platform.ctx.bus.publish(
        customer_event("unmerged", survivor, first_name="Sobreviviente", last_name=token,
                       document="20.000.001", merged_customer_id=absorbed, version=3)
    )  # fmt: skip
    [row] = await rows_when(platform, "llamadas", 1, q=f"absorbido {token}")
    assert (row["cliente"], row["documento"]) == (f"Absorbido {token}", "27.000.002")


async def test_anonymization_leaves_nothing_personal_in_the_stored_rows(
    platform: Platform,
) -> None:
    """Not only the shown cells: the name and document kept to undo a merge go too, and a
    later snapshot that still carries the name stores none of it."""
    token, customer = f"Zq{uid()}", f"cust-{uid()}"
    sid = f"CA{uid()}"
    await platform.ctx.bus.publish(
        call_event(call_sid=sid, customer_id=customer, name=f"Elena {token}", document="27.999.111")
    )
    await rows_when(platform, "llamadas", 1, q=token)
    await platform.ctx.bus.publish(
        customer_event("anonymized", customer, anonymized=True, version=9)
    )
    rows = platform.db("exports")["rows"]

    async def erased() -> bool:
        doc = await rows.find_one({"_id": f"llamadas:{sid}"})
        return doc is not None and token not in str(doc) and "27.999.111" not in str(doc)

    await eventually(erased)
    late = call_event(call_sid=sid, customer_id=customer, name=f"Elena {token}",
                      document="27.999.111", version=5)  # fmt: skip
    await platform.ctx.bus.publish(late)

    async def rewritten() -> dict | None:  # type: ignore[type-arg]
        doc = await rows.find_one({"_id": f"llamadas:{sid}", "version": 5})
        return doc

    doc = await eventually(rewritten)
    assert token not in str(doc) and "27.999.111" not in str(doc)
