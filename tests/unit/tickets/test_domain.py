from datetime import UTC, date, datetime

import pytest

from services.tickets import domain
from services.tickets.handlers import sales_call_event_id


def test_service_numbers_are_st_with_six_digits():
    assert domain.service_number(1) == "ST-000001"
    assert domain.service_number(123) == "ST-000123"
    assert domain.service_number(1_234_567) == "ST-1234567"


def test_service_numbers_start_at_one():
    with pytest.raises(ValueError):
        domain.service_number(0)


def test_pending_service_can_be_confirmed():
    assert domain.confirm_service("pendiente") == "confirmado"


def test_pending_service_can_be_cancelled_with_a_reason():
    assert domain.cancel_service("pendiente", "el cliente desistió") == "cancelado"


def test_cancelling_requires_a_reason():
    with pytest.raises(domain.Invalid):
        domain.cancel_service("pendiente", "   ")


def test_cancelling_a_confirmed_service_is_refused_with_a_clear_message():
    with pytest.raises(domain.ServiceAlreadyConfirmed, match="confirmed service cannot be"):
        domain.cancel_service("confirmado", "ya no")


def test_confirming_a_cancelled_service_is_refused():
    with pytest.raises(domain.ServiceAlreadyCancelled):
        domain.confirm_service("cancelado")


def test_confirming_twice_is_refused():
    with pytest.raises(domain.ServiceAlreadyConfirmed):
        domain.confirm_service("confirmado")


def test_cancelling_twice_is_refused():
    with pytest.raises(domain.ServiceAlreadyCancelled):
        domain.cancel_service("cancelado", "otra vez")


def test_refusals_are_conflicts():
    assert issubclass(domain.ServiceAlreadyConfirmed, domain.Conflict)
    assert issubclass(domain.ServiceAlreadyCancelled, domain.Conflict)
    assert issubclass(domain.ConsultationAlreadyClosed, domain.Conflict)


def test_open_or_answered_consultation_can_be_answered_again():
    assert domain.answer_consultation("abierta", "email", "a@b.co", None) == "respondida"
    assert domain.answer_consultation("respondida", "whatsapp", None, "+5491100") == "respondida"


def test_answering_by_email_needs_an_email_address():
    with pytest.raises(domain.ContactMissing):
        domain.answer_consultation("abierta", "email", None, "+5491100")


def test_answering_by_phone_needs_a_phone_number():
    with pytest.raises(domain.ContactMissing):
        domain.answer_consultation("abierta", "phone", "a@b.co", None)


@pytest.mark.parametrize("final", ["cerrada", "genero_servicio_tecnico"])
def test_closed_or_converted_consultation_refuses_answer_close_and_conversion(final):
    with pytest.raises(domain.ConsultationAlreadyClosed):
        domain.answer_consultation(final, "email", "a@b.co", None)
    with pytest.raises(domain.ConsultationAlreadyClosed):
        domain.close_consultation(final)
    with pytest.raises(domain.ConsultationAlreadyClosed):
        domain.convert_consultation(final)


def test_open_consultation_converts_to_a_service():
    assert domain.convert_consultation("abierta") == "genero_servicio_tecnico"
    assert domain.close_consultation("respondida") == "cerrada"


@pytest.mark.parametrize("motive", ["ventas", "Venta", "adquirir el servicio", "Comprar"])
def test_ivr_purchase_motives_are_sales_calls(motive):
    assert domain.is_sales_call("ivr", motive)


@pytest.mark.parametrize(
    ("channel", "motive"),
    [("ivr", "soporte técnico"), ("ivr", None), ("whatsapp", "ventas"), ("ivr", "consulta")],
)
def test_other_calls_and_channels_are_not_sales_calls(channel, motive):
    assert not domain.is_sales_call(channel, motive)


def test_sales_call_changes_ignore_fields_the_new_snapshot_leaves_empty():
    current = {"city": "Rosario", "call_status": "in-progress", "motive": "ventas"}
    incoming = {"city": None, "call_status": "completed", "motive": "ventas"}
    assert domain.sales_call_changes(current, incoming) == {"call_status": "completed"}
    assert domain.sales_call_changes(current, {"city": "Rosario"}) == {}


def test_sales_call_event_ids_are_deterministic_per_revision():
    assert sales_call_event_id("CA1", 1) == "sales_call:CA1"
    assert sales_call_event_id("CA1", 2) == "sales_call:CA1:2"


def test_search_keys_ignore_accents_case_and_document_punctuation():
    assert domain.search_key("  José   PÉREZ ") == "jose perez"
    assert domain.search_keys("María Núñez", "20.123.456-7") == ["201234567", "maria", "nunez"]
    assert domain.query_terms("NUÑEZ mar") == ["nunez", "mar"]
    assert domain.query_terms("") == []


def test_period_covers_whole_days_in_the_office_time_zone():
    p = domain.period(date(2024, 3, 1), date(2024, 3, 1), "America/Argentina/Buenos_Aires")
    assert p.start == datetime(2024, 3, 1, 3, 0, tzinfo=UTC)
    assert p.end == datetime(2024, 3, 2, 3, 0, tzinfo=UTC)
    assert domain.period(None, None, "UTC") == domain.Period(None, None)


def test_period_with_desde_after_hasta_is_invalid():
    with pytest.raises(domain.Invalid):
        domain.period(date(2024, 3, 2), date(2024, 3, 1), "UTC")


def test_status_filter_defaults_to_open_and_todos_means_all():
    assert domain.status_filter(None, domain.SERVICE_STATUSES, "pendiente") == ["pendiente"]
    assert domain.status_filter("TODOS", domain.SERVICE_STATUSES, "pendiente") is None
    assert domain.status_filter("cancelado", domain.SERVICE_STATUSES, "pendiente") == ["cancelado"]
    with pytest.raises(domain.Invalid):
        domain.status_filter("perdido", domain.SERVICE_STATUSES, "pendiente")


@pytest.mark.parametrize(
    ("typed", "allowed", "selected"),
    [
        ("CERRADA", domain.CONSULTATION_STATUSES, ["cerrada"]),
        ("Cerrada", domain.CONSULTATION_STATUSES, ["cerrada"]),
        ("abierto", domain.CONSULTATION_STATUSES, ["abierta"]),
        ("GENERÓ SERVICIO TÉCNICO", domain.CONSULTATION_STATUSES, ["genero_servicio_tecnico"]),
        ("Confirmada", domain.SERVICE_STATUSES, ["confirmado"]),
        ("abiertos", domain.SERVICE_STATUSES, ["pendiente", "confirmado"]),
        ("CERRADO", domain.SERVICE_STATUSES, ["cancelado"]),
    ],
)
def test_status_filter_takes_the_forms_people_type(typed, allowed, selected):
    assert domain.status_filter(typed, allowed, allowed[0]) == selected


@pytest.mark.parametrize("typed", ["pendiente", "xyz", "abierta2"])
def test_status_filter_refuses_what_the_list_does_not_have(typed):
    with pytest.raises(domain.Invalid, match="expected one of"):
        domain.status_filter(typed, domain.CONSULTATION_STATUSES, "abierta")


@pytest.mark.parametrize(("desde", "hasta"), [(None, date(9999, 12, 31)), (date(1, 1, 1), None)])
def test_period_refuses_the_far_ends_of_the_calendar(desde, hasta):
    with pytest.raises(domain.Invalid, match="between 1900 and 9998"):
        domain.period(desde, hasta, "America/Argentina/Buenos_Aires")


def test_chat_traffic_is_not_projected_but_lifecycle_and_calls_are():
    from services.tickets.domain import worth_projecting

    assert not worth_projecting("message_received", has_call=False)
    assert not worth_projecting("message_sent", has_call=False)
    assert worth_projecting("opened", has_call=False)
    assert worth_projecting("status_changed", has_call=False)
    assert worth_projecting("message_received", has_call=True)


def test_a_converted_consultation_tells_its_number_by_email_else_whatsapp_else_not_at_all():
    assert domain.number_channel("a@b.com", "+5491155550000") == "email"
    assert domain.number_channel(None, "+5491155550000") == "whatsapp"
    assert domain.number_channel(None, None) is None
    assert domain.service_number_text("ST-000042") == "Tu número de servicio técnico es ST-000042"
