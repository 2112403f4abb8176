"""Twilio Voice requests: the step, the caller, the city and the menu motive; TwiML answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from services.ingest import ivr
from services.ingest.errors import InvalidPayload
from shared.contracts.inbound import PERSON_MOTIVE, CallEvent, parse_inbound
from tests.unit.ingest.payloads import channel_fixture, twilio_call

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def call(params: dict[str, str], **kw: str) -> CallEvent:
    [event] = ivr.normalize(params, NOW, **kw).events  # type: ignore[arg-type]
    assert isinstance(event, CallEvent)
    assert parse_inbound(event.model_dump_json()) == event
    return event


def test_incoming_call_has_caller_identity_and_title_case_city() -> None:
    event = call(twilio_call("CA1", CallerName="JUAN PEREZ"))
    assert event.event_id == "tw:CA1:incoming"
    assert event.step == "incoming"
    assert event.identity.key == "ivr:+5491155550000"
    assert event.city == "Cordoba"
    assert event.contact.name == "JUAN PEREZ"
    assert event.occurred_at == NOW  # Twilio sends no event time for incoming calls


def test_empty_city_is_none() -> None:
    assert call(twilio_call(FromCity="")).city is None


@pytest.mark.parametrize(
    ("digits", "motive"),
    [
        ("1", "soporte técnico"),
        ("2", "consulta de servicio"),
        ("3", "ventas"),
        ("4", "facturación"),
        ("0", "hablar con una persona"),
        ("1#", "soporte técnico"),
        ("9", "Opción no válida"),
        ("12", "Opción no válida"),
    ],
)
def test_menu_digits_give_the_motive(digits: str, motive: str | None) -> None:
    event = call(twilio_call("CA2", Digits=digits, CallStatus="in-progress"))
    assert event.step == "gather"
    assert event.event_id == f"tw:CA2:gather:main:d{digits}"
    assert event.motive == motive


@pytest.mark.parametrize(
    ("speech", "motive"),
    [
        ("Tengo una falla técnica", "soporte técnico"),
        ("quiero contratar internet", "ventas"),
        ("una consulta sobre mi servicio", "consulta de servicio"),
        ("no me llegó la factura", "facturación"),
        ("quiero hablar con una persona", "hablar con una persona"),
        ("qué lindo día", "Opción no válida"),
    ],
)
def test_spoken_answers_give_the_motive(speech: str, motive: str | None) -> None:
    assert call(twilio_call(SpeechResult=speech, Confidence="0.9")).motive == motive


def test_step_from_query_parameter_wins_and_menu_names_the_gather_key() -> None:
    event = call(twilio_call("CA3", Digits=""), step_hint="gather", menu="main")
    assert event.event_id == "tw:CA3:gather:main:none"
    assert event.motive == "Opción no válida"  # timeout: empty Digits


def test_each_answer_of_a_caller_is_its_own_event_and_a_resend_is_the_same() -> None:
    """A mistyped `7` and the `1` after it are two events (the retry is not a duplicate);
    Twilio resending the same request gives the same id."""
    mistyped = call(twilio_call("CA4", Digits="7"), step_hint="gather", menu="main")
    retried = call(twilio_call("CA4", Digits="1"), step_hint="gather", menu="main")
    resent = call(twilio_call("CA4", Digits="1"), step_hint="gather", menu="main")
    assert mistyped.event_id != retried.event_id
    assert retried.event_id == resent.event_id
    assert (mistyped.motive, retried.motive) == ("Opción no válida", "soporte técnico")
    said = call(twilio_call("CA4", SpeechResult="soporte"), step_hint="gather")
    said_again = call(twilio_call("CA4", SpeechResult="soporte"), step_hint="gather")
    other = call(twilio_call("CA4", SpeechResult="ventas"), step_hint="gather")
    assert said.event_id == said_again.event_id != other.event_id
    assert len(call(twilio_call("CA4", Digits="1" * 500)).event_id) < 80


def test_status_callback_is_keyed_by_sequence_number_and_keeps_duration() -> None:
    event = call(
        twilio_call(
            "CA4",
            CallStatus="completed",
            CallDuration="42",
            SequenceNumber="3",
            CallbackSource="call-progress-events",
            Timestamp="Tue, 01 Jul 2025 12:00:00 +0000",
        )
    )
    assert event.step == "status"
    assert event.event_id == "tw:CA4:status:3"
    assert event.duration_seconds == 42
    assert event.occurred_at == datetime(2025, 7, 1, 12, tzinfo=UTC)
    without_seq = call(twilio_call("CA5", CallStatus="busy"))
    assert without_seq.event_id == "tw:CA5:status:busy"


def test_anonymous_callers_are_not_merged_into_one_identity() -> None:
    a = call(twilio_call("CAa", From="anonymous"))
    b = call(twilio_call("CAb", From=""))
    assert a.identity.external_id == "anonymous:CAa"
    assert b.identity.external_id == "anonymous:CAb"
    assert call(twilio_call(From="client:alice")).identity.external_id == "client:alice"


def test_call_sid_is_required() -> None:
    with pytest.raises(InvalidPayload, match="CallSid"):
        ivr.normalize({"From": "+5491155550000"}, NOW)


def test_incoming_is_answered_with_a_spanish_menu_gather() -> None:
    xml = ivr.twiml(call(twilio_call()), "/webhooks/ivr?step=gather&menu=main")
    root = ET.fromstring(xml)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == "/webhooks/ivr?step=gather&menu=main"
    say = gather.find("Say")
    assert say is not None and say.get("language") == "es-MX"
    assert "marque 1" in (say.text or "") and "marque 0" in (say.text or "")


def test_a_first_level_choice_asks_its_second_level_and_an_invalid_one_repeats_the_menu() -> None:
    url = "/webhooks/ivr?step=gather&menu=main"
    chosen = ET.fromstring(ivr.twiml(call(twilio_call(Digits="3")), url))
    gather = chosen.find("Gather")
    assert gather is not None and gather.get("action") == "/webhooks/ivr?step=gather&menu=ventas"
    assert "internet en su hogar" in (gather.findtext("Say") or "")
    retry = ET.fromstring(ivr.twiml(call(twilio_call(Digits="7")), url))
    assert (retry.find("Gather") or ET.Element("x")).get("action") == url


@pytest.mark.parametrize(
    ("menu", "digits", "motive"),
    [
        ("soporte", "1", "soporte técnico: sin conexión a internet"),
        ("consulta", "2", "consulta de servicio: cambio de plan"),
        ("ventas", "1", "ventas: internet para el hogar"),
        ("facturacion", "3", "facturación: pago no acreditado"),
        ("soporte", "8", "soporte técnico: opción no válida"),
    ],
)
def test_a_second_level_choice_gives_the_specific_motive(
    menu: str, digits: str, motive: str
) -> None:
    """Seed 004: "dependiendo de las opciones que elija ... un MOTIVO más específico"."""
    event = call(twilio_call("CA8", Digits=digits), step_hint="gather", menu=menu)
    assert event.event_id == f"tw:CA8:gather:{menu}:d{digits}"
    assert event.motive == motive
    answer = ET.fromstring(ivr.twiml(event, "/a?step=gather&menu=main"))
    if "no válida" in motive:  # the same submenu again
        assert (answer.find("Gather") or ET.Element("x")).get("action") == (
            f"/a?step=gather&menu={menu}"
        )
    else:
        assert answer.find("Gather") is None and answer.find("Hangup") is not None
        assert motive in (answer.findtext("Say") or "")


def test_spoken_second_level_answers_give_the_specific_motive() -> None:
    said = call(twilio_call(SpeechResult="se me corta todo el tiempo"), menu="soporte")
    assert said.motive == "soporte técnico: internet lento o intermitente"


def test_each_step_carries_what_the_ivr_said_in_its_twiml() -> None:
    for params in (
        twilio_call(),
        twilio_call(Digits="7"),
        twilio_call(Digits="3"),
        twilio_call(SpeechResult="quiero hablar con una persona"),
    ):
        event = call(params)
        assert event.prompt, params
        said = [s.text for s in ET.fromstring(ivr.twiml(event, "/a")).iter("Say")]
        assert said[0] == event.prompt  # then, for a menu, the re-prompt and the goodbye
    assert call(twilio_call(Digits="0")).motive == PERSON_MOTIVE
    assert call(twilio_call(CallStatus="completed")).prompt is None


def test_a_silent_caller_is_asked_once_more_then_told_goodbye() -> None:
    """Twilio goes on to the next verb when a <Gather> gets no input: without one the call
    simply ends; the menu is asked again once, then a polite goodbye and a hang-up."""
    root = ET.fromstring(ivr.twiml(call(twilio_call()), "/a"))
    verbs = [child.tag for child in root]
    assert verbs == ["Gather", "Gather", "Say", "Hangup"]
    first, again = root.findall("Gather")
    assert first.get("action") == again.get("action") == "/a"
    assert (again.findtext("Say") or "").startswith("No recibimos ninguna opción.")
    assert "Hasta luego" in (root.findtext("Say") or "")


def test_status_callbacks_get_empty_twiml() -> None:
    root = ET.fromstring(ivr.twiml(call(twilio_call(CallStatus="completed")), "/a"))
    assert root.tag == "Response" and list(root) == []


def test_json_params_become_strings() -> None:
    assert ivr.params_from_json({"CallSid": "CA1", "x": True, "n": 3, "z": None, "o": {}}) == {
        "CallSid": "CA1",
        "x": "true",
        "n": "3",
        "z": "",
    }


CALLS: dict[str, dict[str, str]] = channel_fixture("ivr/calls.json")
STEPS = {
    "incoming": "incoming",
    "gather_digits": "gather",
    "gather_timeout": "gather",
    "gather_speech": "gather",
    "status_completed": "status",
    "status_no_answer": "status",
    "anonymous": "incoming",
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_every_twilio_fixture_normalizes_to_its_step(name: str) -> None:
    assert set(STEPS) == set(CALLS)
    assert call(CALLS[name]).step == STEPS[name]


def test_twilio_fixture_details() -> None:
    incoming = call(CALLS["incoming"])
    assert (incoming.city, incoming.identity.external_id, incoming.contact.name) == (
        "Buenos Aires",
        "+5491155550404",
        "LUISA PEREZ",
    )
    assert call(CALLS["gather_digits"]).motive == "ventas"
    assert call(CALLS["gather_speech"]).motive == "ventas"
    assert call(CALLS["gather_timeout"]).motive == "Opción no válida"
    completed = call(CALLS["status_completed"])
    assert (completed.event_id, completed.duration_seconds) == (
        f"tw:{CALLS['status_completed']['CallSid']}:status:4",
        87,
    )
    assert call(CALLS["anonymous"]).identity.external_id.startswith("anonymous:")
