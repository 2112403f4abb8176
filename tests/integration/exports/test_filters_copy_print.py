"""The filters, and Copy and Print showing exactly the rows the screen lists."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pypdf import PdfReader

from tests.integration.exports.helpers import rows_when, table
from tests.support import Platform
from tests.unit.exports.factories import at, chat_event, consultation_event, service_event, uid

ALL_COLUMNS_CHATS = ["ID", "Fecha", "Origen", "Cliente", "Documento", "Estado", "Responsable",
                     "Último mensaje"]  # fmt: skip


async def _seed_services(platform: Platform, token: str) -> None:
    """Four services around a day boundary of Buenos Aires (UTC-3)."""
    events = [
        # 2024-05-09 23:30 in Buenos Aires
        service_event(name=f"Martínez Peña {token}", document="30.111.001",
                      created_at=at("2024-05-10T02:30"), status="pendiente"),
        # 2024-05-10 10:00
        service_event(name=f"Gómez {token}", document="30.111.002",
                      created_at=at("2024-05-10T13:00"), status="confirmado"),
        # 2024-05-10 23:59
        service_event(name=f"Martinez Ruiz {token}", document="30.111.003",
                      created_at=at("2024-05-11T02:59"), status="cancelado"),
        # 2024-05-12 09:00
        service_event(name=f"Peña {token}", document="30.111.004",
                      created_at=at("2024-05-12T12:00"), status="pendiente"),
    ]  # fmt: skip
    for event in events:
        await platform.ctx.bus.publish(event)
    await rows_when(platform, "servicios", 4, q=token, estado="todos")


def _names(rows: list[dict[str, str]], token: str) -> list[str]:
    return sorted(r["cliente"].replace(f" {token}", "") for r in rows)


async def test_filters_alone_and_combined(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await _seed_services(platform, token)

    async def names(**params: str) -> list[str]:
        params.setdefault("q", token)
        return _names((await table(platform, "servicios", **params))["rows"], token)

    # Default: open statuses only (pendiente, confirmado).
    assert await names() == ["Gómez", "Martínez Peña", "Peña"]
    assert await names(estado="todos") == ["Gómez", "Martinez Ruiz", "Martínez Peña", "Peña"]
    assert await names(estado="cancelado") == ["Martinez Ruiz"]
    # Dates are whole days in Buenos Aires, both ends inclusive.
    assert await names(estado="todos", desde="2024-05-10", hasta="2024-05-10") == [
        "Gómez",
        "Martinez Ruiz",
    ]
    assert await names(estado="todos", hasta="2024-05-09") == ["Martínez Peña"]
    assert await names(estado="todos", desde="2024-05-11") == ["Peña"]
    # q ignores accents and case, needs every word, matches documents with or without dots.
    assert await names(estado="todos", q=f"MARTINEZ {token}") == ["Martinez Ruiz", "Martínez Peña"]
    assert await names(estado="todos", q=f"peña {token}") == ["Martínez Peña", "Peña"]
    assert await names(estado="todos", q=f"30111004 {token}") == ["Peña"]
    assert await names(estado="todos", q=f"30.111.002 {token}") == ["Gómez"]
    # Combinations.
    assert await names(q=f"pena {token}", desde="2024-05-10") == ["Peña"]
    assert await names(q=f"martinez {token}", hasta="2024-05-10") == ["Martínez Peña"]
    assert await names(estado="cancelado", q=f"martinez {token}", desde="2024-05-10") == [
        "Martinez Ruiz"
    ]


async def test_pages_split_the_rows_newest_first(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await _seed_services(platform, token)
    first = await table(platform, "servicios", q=token, estado="todos", page=1, page_size=3)
    second = await table(platform, "servicios", q=token, estado="todos", page=2, page_size=3)
    assert (first["total"], len(first["rows"]), len(second["rows"])) == (4, 3, 1)
    shown = [datetime.strptime(r["fecha"], "%d/%m/%Y %H:%M") for r in first["rows"]]
    assert shown == sorted(shown, reverse=True)
    assert second["rows"][0]["fecha"] == "09/05/2024 23:30"
    assert first["columns"][0] == {"key": "numero", "label": "Número"}


async def test_copy_parses_back_to_the_rows_on_screen(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await _seed_services(platform, token)
    params = {"q": token, "estado": "todos", "desde": "2024-05-10"}
    screen = await table(platform, "servicios", **params)
    response = await platform.http.get(
        "/api/tables/servicios/copy", params=params, headers=platform.auth("luis", "agent")
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/tab-separated-values; charset=utf-8"
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8")), dialect="excel-tab"))
    assert parsed[0] == [c["label"] for c in screen["columns"]]
    keys = [c["key"] for c in screen["columns"]]
    assert parsed[1:] == [[row[k] for k in keys] for row in screen["rows"]]
    assert len(parsed) == 1 + 3


async def test_copy_defuses_formulas_and_keeps_cells_on_one_line(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        consultation_event(
            name=f'=HYPERLINK("http://evil") {token}', subject="@SUM(1+1)\tdos\nlíneas"
        )
    )
    await rows_when(platform, "consultas", 1, q=token)
    response = await platform.http.get(
        "/api/tables/consultas/copy", params={"q": token}, headers=platform.auth()
    )
    lines = response.content.decode().splitlines()
    assert len(lines) == 2
    [header, row] = list(csv.reader(io.StringIO(response.text), dialect="excel-tab"))
    cells = dict(zip(header, row, strict=True))
    assert cells["Nombre"] == f'\'=HYPERLINK("http://evil") {token}'
    assert cells["Asunto"] == "'@SUM(1+1) dos líneas"


async def test_secrets_typed_in_a_chat_never_reach_copy_or_print(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await platform.ctx.bus.publish(
        chat_event(name=f"Juan {token}", preview="usuario: juan contraseña: 123456")
    )
    [row] = await rows_when(platform, "chats", 1, q=token)
    assert "123456" not in row["ultimo_mensaje"]
    copy = await platform.http.get(
        "/api/tables/chats/copy", params={"q": token}, headers=platform.auth()
    )
    assert "usuario: juan contraseña" in copy.text
    assert "123456" not in copy.text
    printed = await platform.http.get(
        "/api/tables/chats/print", params={"q": token}, headers=platform.auth()
    )
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.content)).pages)
    assert f"Juan {token}" in text
    assert "123456" not in text


async def test_print_is_a_pdf_with_title_filters_rows_accents_and_pages(platform: Platform) -> None:
    token = f"Zq{uid()}"
    await _seed_services(platform, token)
    response = await platform.http.get(
        "/api/tables/servicios/print",
        params={"q": token, "estado": "todos", "desde": "2024-05-10"},
        headers=platform.auth(),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "SERVICIOS" in text
    assert f"búsqueda «{token}»" in text and "desde 10/05/2024" in text and "estado: todos" in text
    assert "Generado el" in text and "(hora de Buenos Aires)" in text
    assert "Número" in text and "Documento" in text
    assert f"Martinez Ruiz {token}" in text and f"Peña {token}" in text and f"Gómez {token}" in text
    assert f"Martínez Peña {token}" not in text  # before desde
    assert "Página 1 de 1" in text


async def test_print_of_many_rows_numbers_every_page(platform: Platform) -> None:
    token = f"Zq{uid()}"
    for i in range(90):
        await platform.ctx.bus.publish(
            chat_event(name=f"Núñez {i:03d} {token}", opened_at=at(f"2024-06-01T{10 + i % 10}:00"))
        )
    await rows_when(platform, "chats", 90, q=token, page_size=100)
    response = await platform.http.get(
        "/api/tables/chats/print", params={"q": token}, headers=platform.auth()
    )
    reader = PdfReader(io.BytesIO(response.content))
    pages = len(reader.pages)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert pages >= 2
    assert f"Página {pages} de {pages}" in text
    assert all(f"Núñez {i:03d} {token}" in text for i in range(90))


async def test_unknown_table_is_404_and_bad_filters_are_422(platform: Platform) -> None:
    auth = platform.auth()
    for suffix in ("", "/copy", "/print"):
        assert (
            await platform.http.get(f"/api/tables/facturas{suffix}", headers=auth)
        ).status_code == 404
        for params in ({"desde": "10/05/2024"}, {"hasta": "2024-02-30"},
                       {"desde": "2024-05-10", "hasta": "2024-05-01"}):  # fmt: skip
            response = await platform.http.get(
                f"/api/tables/chats{suffix}", params=params, headers=auth
            )
            assert response.status_code == 422, (suffix, params, response.text)
    bad_page = await platform.http.get("/api/tables/chats", params={"page": 0}, headers=auth)
    assert bad_page.status_code == 422


async def test_tables_need_a_staff_token(platform: Platform) -> None:
    assert (await platform.http.get("/api/tables/chats")).status_code == 401
    assert (await platform.http.get("/api/tables/chats/copy")).status_code == 401
    for role in ("agent", "central", "admin"):
        ok = await platform.http.get("/api/tables/chats", headers=platform.auth("x", role))
        assert ok.status_code == 200
