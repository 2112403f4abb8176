"""The tables' rules: projection, customer facts, cells, filters (pure, no I/O)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from services.exports.store import mongo_filter
from services.exports.tables import (
    TABLES,
    BadFilter,
    CustomerFacts,
    UnknownTable,
    apply_customer,
    customer_facts,
    customer_fields,
    document_key,
    make_filter,
    normalize,
    row_actions,
    row_cells,
    row_query,
    rows_from_consultation,
    rows_from_conversation,
    rows_from_ticket,
    search_terms,
    table_named,
)
from tests.unit.exports.factories import (
    at,
    call_event,
    chat_event,
    consultation_event,
    customer_event,
    sales_call_event,
    service_event,
)

TZ = ZoneInfo("America/Argentina/Buenos_Aires")


def test_normalize_ignores_accents_case_and_spacing() -> None:
    assert normalize("  Peña   MARTÍNEZ ") == "pena martinez"
    assert normalize(None) == ""


def test_document_key_matches_with_and_without_punctuation() -> None:
    assert document_key("30.123.456") == "30.123.456 30123456"
    assert document_key("30123456") == "30123456"


def test_unknown_table_is_refused() -> None:
    with pytest.raises(UnknownTable):
        table_named("facturas")


@pytest.mark.parametrize(
    ("channel", "origin"), [("whatsapp", "WhatsApp"), ("messenger", "Facebook"), ("webchat", "Web")]
)
def test_chat_rows_show_the_origin_by_its_public_name(channel: str, origin: str) -> None:
    [row] = rows_from_conversation(chat_event(channel=channel))
    assert row.table == "chats"
    assert row_cells(TABLES["chats"], row.fields(), TZ)["origen"] == origin


def test_chat_row_masks_a_password_even_if_routing_did_not() -> None:
    [row] = rows_from_conversation(chat_event(preview="usuario: juan contraseña: 123456"))
    assert "123456" not in row.values["ultimo_mensaje"]


def test_ivr_conversation_becomes_a_call_row_keyed_by_call_sid() -> None:
    [row] = rows_from_conversation(call_event(call_sid="CA123", call_status="completed"))
    assert (row.table, row.key) == ("llamadas", "CA123")
    assert row.values["motivo"] == "soporte técnico"
    assert row.values["ciudad"] == "Córdoba"


@pytest.mark.parametrize("status", ["abierta", "cerrada", "genero_servicio_tecnico"])
def test_a_calls_state_is_its_conversations_and_twilios_status_its_own_column(
    status: str,
) -> None:
    event = call_event(call_sid="CA7", call_status="completed")
    event.conversation.status = status  # type: ignore[assignment]
    [row] = rows_from_conversation(event)
    assert row.status == status
    assert row.values["estado_llamada"] == "completed"
    assert row.conversation_id == event.conversation.conversation_id


@pytest.mark.parametrize(("twilio", "status"), [("ringing", "abierta"), ("completed", "cerrada")])
def test_a_sales_call_is_open_while_twilio_says_it_goes_on(twilio: str, status: str) -> None:
    [row] = rows_from_ticket(sales_call_event(call_status=twilio))
    assert (row.status, row.values["estado_llamada"]) == (status, twilio)


def test_sales_call_and_service_events_go_to_their_tables() -> None:
    [sales] = rows_from_ticket(sales_call_event(call_sid="CA9"))
    [svc] = rows_from_ticket(service_event(number="ST-000123", status="confirmado"))
    assert (sales.table, sales.key, sales.values["telefono"]) == (
        "llamadas_ventas",
        "CA9",
        "+5491155554444",
    )
    assert (svc.table, svc.values["numero"], svc.status) == ("servicios", "ST-000123", "confirmado")


def test_consultation_row_joins_email_and_phone_as_contact() -> None:
    [row] = rows_from_consultation(consultation_event(email="a@b.c", phone="+54911"))
    assert row.values["contacto"] == "a@b.c / +54911"


def test_anonymized_customer_blanks_name_document_and_personal_columns() -> None:
    [row] = rows_from_ticket(sales_call_event())
    facts = customer_facts(customer_event("anonymized", "c1", anonymized=True).customer)
    apply_customer(row, facts)
    assert (row.customer_name, row.document_number, row.values["telefono"]) == ("", "", "")


def test_profile_without_document_keeps_the_rows_document() -> None:
    facts = CustomerFacts("c1", "Juan Pérez", None, False, 2)
    fields = customer_fields(facts)
    assert fields["customer_name"] == "Juan Pérez"
    assert fields["search_name"] == "juan perez"
    assert "document_number" not in fields


def test_cells_show_the_date_in_the_platform_time_zone() -> None:
    [row] = rows_from_conversation(chat_event(opened_at=at("2024-03-10T02:30")))
    cells = row_cells(TABLES["chats"], row.fields(), TZ)
    assert cells["fecha"] == "09/03/2024 23:30"
    assert list(cells) == TABLES["chats"].keys


def test_cells_mask_secrets_on_the_way_out() -> None:
    [row] = rows_from_conversation(chat_event())
    doc = row.fields()
    doc["values"]["ultimo_mensaje"] = "mi clave es hunter2"
    assert "hunter2" not in row_cells(TABLES["chats"], doc, TZ)["ultimo_mensaje"]


def test_default_filter_shows_the_open_statuses_only() -> None:
    query = mongo_filter(row_query(TABLES["servicios"], make_filter(None, None, None, None), TZ))
    assert query["status"] == {"$in": ["confirmado", "pendiente"]}


@pytest.mark.parametrize(
    ("table", "typed", "selected"),
    [
        ("chats", "CERRADA", "cerrada"),
        ("chats", "Cerrada", "cerrada"),
        ("chats", "cerrado", "cerrada"),
        ("chats", "abierto", "abierta"),
        ("llamadas", "ABIERTA", "abierta"),
        ("llamadas", "GENERÓ SERVICIO TÉCNICO", "genero_servicio_tecnico"),
        ("llamadas", "genero servicio tecnico", "genero_servicio_tecnico"),
        ("llamadas", "genero_servicio_tecnico", "genero_servicio_tecnico"),
        ("llamadas_ventas", "Cerradas", "cerrada"),
        ("servicios", "Confirmada", "confirmado"),
        ("consultas", "RESPONDIDA", "respondida"),
    ],
)
def test_a_status_is_accepted_in_the_forms_people_type(
    table: str, typed: str, selected: str
) -> None:
    query = mongo_filter(row_query(TABLES[table], make_filter(None, None, None, typed), TZ))
    assert query["status"] == selected


def test_abierto_and_cerrado_group_the_statuses_of_a_table_without_such_a_status() -> None:
    servicios = TABLES["servicios"]
    opened = mongo_filter(row_query(servicios, make_filter(None, None, None, "abiertos"), TZ))
    assert opened["status"] == {"$in": ["confirmado", "pendiente"]}
    closed = mongo_filter(row_query(servicios, make_filter(None, None, None, "CERRADO"), TZ))
    assert closed["status"] == "cancelado"
    assert "status" not in mongo_filter(
        row_query(servicios, make_filter(None, None, None, "TODAS"), TZ)
    )


@pytest.mark.parametrize(
    ("table", "typed"),
    [("chats", "completed"), ("llamadas", "in-progress"), ("servicios", "abiert0"),
     ("consultas", "pendiente"), ("chats", "xyz")],
)  # fmt: skip
def test_an_unknown_status_is_refused_naming_the_choices(table: str, typed: str) -> None:
    with pytest.raises(BadFilter, match="expected one of"):
        mongo_filter(row_query(TABLES[table], make_filter(None, None, None, typed), TZ))


@pytest.mark.parametrize("typed", ["30-123-456", "30.123.456", "30 123 456", "30/123/456"])
def test_a_document_typed_with_any_punctuation_is_searched_by_its_digits(typed: str) -> None:
    assert search_terms(typed) == ["30123456"]
    assert search_terms(f"Peña {typed}") == ["pena", "30123456"]


def test_cells_read_as_words_and_names() -> None:
    """What the screen, Copy and Print all show: words, never codes."""
    [chat] = rows_from_conversation(chat_event(holder="staff:ana"))
    chat.status = "genero_servicio_tecnico"
    cells = row_cells(TABLES["chats"], chat.fields(), TZ)
    assert (cells["estado"], cells["responsable"]) == ("GENERÓ SERVICIO TÉCNICO", "Ana")
    named = row_cells(TABLES["chats"], chat.fields(), TZ, {"ana": "Ana María Gómez"})
    assert named["responsable"] == "Ana María Gómez"
    [queued] = rows_from_conversation(chat_event(holder=None))
    assert row_cells(TABLES["chats"], queued.fields(), TZ)["responsable"] == "En cola"
    [call] = rows_from_conversation(call_event(call_status="no-answer"))
    shown = row_cells(TABLES["llamadas"], call.fields(), TZ)
    assert (shown["estado"], shown["estado_llamada"]) == ("ABIERTA", "Sin respuesta")
    assert shown["motivo"] == "Soporte técnico"


def test_a_call_without_a_motive_says_so_instead_of_a_blank() -> None:
    [call] = rows_from_conversation(call_event(motive=None))
    assert row_cells(TABLES["llamadas"], call.fields(), TZ)["motivo"] == "Sin motivo"


def test_only_an_open_chat_no_person_holds_can_be_taken() -> None:
    for holder, status, takeable in [
        (None, "abierta", True),
        ("lara", "abierta", True),
        ("agent:luis", "abierta", False),
        ("staff:ana", "abierta", False),
        (None, "cerrada", False),
    ]:
        [row] = rows_from_conversation(chat_event(holder=holder))
        row.status = status
        actions = row_actions(TABLES["chats"], row.fields())
        assert (actions.takeable, actions.conversation_id) == (takeable, row.key), holder
    [call] = rows_from_conversation(call_event())
    assert row_actions(TABLES["llamadas"], call.fields()).takeable is False


def test_todos_shows_every_status_and_an_exact_status_matches_exactly() -> None:
    assert "status" not in mongo_filter(
        row_query(TABLES["chats"], make_filter(None, None, None, "todos"), TZ)
    )
    exact = mongo_filter(row_query(TABLES["chats"], make_filter(None, None, None, "cerrada"), TZ))
    assert exact["status"] == "cerrada"


def test_date_range_is_whole_days_in_the_platform_time_zone() -> None:
    query = mongo_filter(
        row_query(TABLES["chats"], make_filter(None, "2024-03-10", "2024-03-10", None), TZ)
    )
    start, end = query["date"]["$gte"], query["date"]["$lt"]
    assert start.astimezone(ZoneInfo("UTC")) == at("2024-03-10T03:00")
    assert end.astimezone(ZoneInfo("UTC")) == at("2024-03-11T03:00")


def test_search_needs_every_word_in_name_or_document() -> None:
    query = mongo_filter(
        row_query(TABLES["chats"], make_filter("Martínez  JOSÉ", None, None, None), TZ)
    )
    assert [c["$or"][0]["search_name"]["$regex"] for c in query["$and"]] == ["martinez", "jose"]


@pytest.mark.parametrize(
    ("desde", "hasta"),
    [("2024-13-01", None), ("ayer", None), (None, "2024-02-30"), ("2024-3-1", None)],
)
def test_bad_dates_are_refused(desde: str | None, hasta: str | None) -> None:
    with pytest.raises(BadFilter):
        make_filter(None, desde, hasta, None)


def test_a_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(BadFilter):
        make_filter(None, "2024-03-10", "2024-03-01", None)


def test_filters_describe_themselves_for_the_printed_page() -> None:
    flt = make_filter("Peña", "2024-03-01", None, None)
    assert flt.desde == date(2024, 3, 1)
    assert flt.describe() == "Filtros: búsqueda «Peña» · desde 01/03/2024 · estado: abiertos"


def test_a_sales_call_row_is_versioned_by_the_calls_revision() -> None:
    [first] = rows_from_ticket(sales_call_event(call_sid="CA1", revision=1))
    [later] = rows_from_ticket(sales_call_event(call_sid="CA1", revision=3))
    assert (first.row_id, first.version, later.version) == ("llamadas_ventas:CA1", 1, 3)


@pytest.mark.parametrize(("desde", "hasta"), [("0001-01-01", None), (None, "9999-12-31")])
def test_dates_at_the_far_ends_of_the_calendar_are_refused(
    desde: str | None, hasta: str | None
) -> None:
    with pytest.raises(BadFilter):
        make_filter(None, desde, hasta, None)


def test_a_search_of_only_combining_marks_filters_nothing() -> None:
    query = mongo_filter(row_query(TABLES["chats"], make_filter("\u0301", None, None, None), TZ))
    assert "$and" not in query
