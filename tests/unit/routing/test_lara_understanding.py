"""Lara reads Spanish as customers write it: each defect found with real-looking messages."""

from __future__ import annotations

import pytest

from services.routing.bot import Turn
from services.routing.lara import RuleBasedLara
from services.routing.understanding import normalize, stem

WELCOME = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"


@pytest.fixture
def lara() -> RuleBasedLara:
    return RuleBasedLara(welcome=WELCOME)


def topic_of(lara: RuleBasedLara, text: str) -> str | None:
    reply = lara.reply([], text)
    if reply.escalate:
        return "persona"
    for entry in lara.faq:
        if entry.answer in reply.messages:
            return entry.topic
    return None


def test_normalization_drops_accents_case_zero_width_and_stretched_letters() -> None:
    assert normalize("¿Está CAÍDOOO el\u200b servicio?") == "esta caido el servicio"
    assert normalize("lentaaaa") == "lenta"
    assert normalize("holaaa!!!") == "hola"
    # A legitimate double letter stays.
    assert normalize("llamar al correo") == "llamar al correo"


def test_word_forms_share_a_stem() -> None:
    assert stem("reinicie") == stem("reiniciar") == stem("reinicio") == stem("reiniciado")
    assert stem("lentisima") == stem("lento") == stem("lenta")


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("se corto internet en todo el barrio??", "estado del servicio"),
        ("internet anda lentisima", "velocidad"),
        ("la conexion esta lentaaa", "velocidad"),
        ("quiero registrar miempresa.com.ar", "dominio"),
        ("cerre el local, quiero cancelar el hosting", "baja del servicio"),
        ("hasta cuando tengo para pagar la de este mes?", "factura"),
        ("como reseteo el router", "reiniciar el modem"),
        ("no me llegan los mails a outlook", "configurar el correo"),
        ("kiero pagar y no se komo", "medios de pago"),
        ("Los fines de semana atienden?", "horarios"),
    ],
)
def test_other_word_forms_synonyms_and_typos_find_the_topic(
    lara: RuleBasedLara, text: str, topic: str
) -> None:
    assert topic_of(lara, text) == topic


def test_a_weekday_is_not_a_misspelt_keyword(lara: RuleBasedLara) -> None:
    # "lunes" is one letter away from "luces" (modem lights): no restart instructions.
    assert topic_of(lara, "el feriado del lunes trabajan?") == "horarios"
    assert topic_of(lara, "el lunes les escribo de nuevo") is None
    assert topic_of(lara, "el martes") is None


@pytest.mark.parametrize(
    "text",
    [
        "necesito que venga un tecnico a mi casa",
        "el tecnico que vino ayer me dejo el cable tirado en la vereda",
        "cuando viene el tecnico? me dijeron martes y no vino nadie",
    ],
)
def test_a_technician_is_not_menu_option_one(lara: RuleBasedLara, text: str) -> None:
    reply = lara.reply([], text)
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "visita técnica" in reply.escalation_note


def test_technician_alone_still_chooses_the_menu_option(lara: RuleBasedLara) -> None:
    for choice in ("soporte tecnico", "1", "técnico"):
        reply = lara.reply([Turn("lara", WELCOME)], choice)
        assert not reply.escalate
        assert "problema" in reply.messages[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("me cobraron dos veces la factura de este mes!!!", "disputa un cobro"),
        ("me cobraron 2 veces el abono", "disputa un cobro"),
        ("tengo un cargo que no reconozco en la tarjeta", "disputa un cobro"),
        ("quiero el reembolso del mes que no tuve servicio", "reintegro"),
        ("hice un reclamo la semana pasada y nunca me contestaron", "reclamo"),
        ("me hackearon la pagina, aparece un mensaje raro", "hackeada"),
        ("si no me solucionan hoy me doy de baja", "amenaza con irse"),
        ("me voy a otra empresa, son un desastre", "amenaza con irse"),
        ("no quiero hablar con un bot", "persona"),
        ("me pasas con alguien de atencion al cliente", "persona"),
    ],
)
def test_a_reason_to_need_a_person_outranks_the_keyword_around_it(
    lara: RuleBasedLara, text: str, reason: str
) -> None:
    reply = lara.reply([], text)
    assert reply.escalate, text
    assert reply.escalation_note is not None
    assert reason in reply.escalation_note


def test_going_to_the_office_in_person_is_a_question_about_hours(lara: RuleBasedLara) -> None:
    assert topic_of(lara, "necesito el horario de la sucursal, voy a ir en persona") == "horarios"
    assert topic_of(lara, "a que hora los puedo llamar?") == "horarios"


def test_what_the_customer_already_tried_is_not_suggested_again(lara: RuleBasedLara) -> None:
    reply = lara.reply([], "ya reinicie el modem dos veces y sigo sin internet")
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "Ya probó: reiniciar el módem." in reply.escalation_note
