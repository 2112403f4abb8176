"""Lara, the rule-based first responder: menu, FAQ, escalations, Spanish as people write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.routing.bot import BotReply, Turn, build_bot
from services.routing.lara import CLARIFICATION, MENU_TEXT, RuleBasedLara

WELCOME = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"


@pytest.fixture
def lara() -> RuleBasedLara:
    return RuleBasedLara(welcome=WELCOME)


def conversation(lara: RuleBasedLara, *customer_messages: str) -> tuple[list[Turn], BotReply]:
    """Play the customer's messages through Lara; the history and Lara's last reply."""
    history = [Turn("lara", m) for m in lara.greet().messages]
    reply = BotReply()
    for text in customer_messages:
        reply = lara.reply(history, text)
        history += [Turn("customer", text)] + [Turn("lara", m) for m in reply.messages]
    return history, reply


def test_the_greeting_is_the_configured_welcome_and_the_menu(lara: RuleBasedLara) -> None:
    greeting = lara.greet()
    assert greeting.messages[0] == WELCOME
    menu = greeting.messages[1]
    for option in ("1. Soporte técnico", "2. Consulta de servicio", "3. Ventas"):
        assert option in menu
    assert "4. Hablar con una persona" in menu
    assert not greeting.escalate


def test_the_routing_factory_builds_the_rule_based_lara() -> None:
    bot = build_bot("rules", WELCOME, None)
    assert isinstance(bot, RuleBasedLara)
    assert bot.greet().messages[0] == WELCOME


@pytest.mark.parametrize(
    ("choice", "expected_words"),
    [
        ("1", "problema"),
        ("opción 1", "problema"),
        ("Soporte técnico", "problema"),
        ("soporte tecnco", "problema"),
        ("2", "consulta"),
        ("consulta de servicio", "consulta"),
        ("3", "contratar"),
        ("VENTAS", "contratar"),
    ],
)
def test_a_menu_option_is_understood_by_number_or_by_name(
    lara: RuleBasedLara, choice: str, expected_words: str
) -> None:
    reply = lara.reply([], choice)
    assert not reply.escalate
    assert expected_words in reply.messages[0]


@pytest.mark.parametrize(
    ("question", "answer_mentions"),
    [
        ("¿Cuáles son los horarios de atención?", "lunes a viernes"),
        ("a que hora abren el sabado", "lunes a viernes"),
        ("cuales son los orarios", "lunes a viernes"),
        ("Qué medios de pago tienen?", "Mercado Pago"),
        ("puedo pagar con tarjeta?", "tarjeta"),
        ("como reinicio el modem?", "desenchufalo"),
        ("Cómo reinicio el MÓDEM", "desenchufalo"),
        ("quiero configurar el correo en outlook", "IMAP"),
        ("hay un corte en mi zona?", "estado.towebs.com"),
        ("no tengo internet", "estado.towebs.com"),
        ("cuanto cuesta el plan de 300 megas", "$19.500"),
        ("kuanto sale el hosting, que precios tienen", "Hosting Pyme"),
        ("olvidé mi contraseña", "restablecer"),
        ("se me cae internet a cada rato", "velocidad"),
    ],
)
def test_frequent_questions_are_answered_from_the_faq(
    lara: RuleBasedLara, question: str, answer_mentions: str
) -> None:
    reply = lara.reply([], question)
    assert not reply.escalate
    assert answer_mentions in reply.messages[0]


@pytest.mark.parametrize(
    "request_",
    [
        "4",
        "quiero hablar con una persona",
        "Quiero hablar con un HUMANO",
        "pasame con un agente",
        "necesito un operador por favor",
        "kiero ablar con un umano",
        "me comunicas con un asesor?",
    ],
)
def test_asking_for_a_person_escalates_with_the_reason(lara: RuleBasedLara, request_: str) -> None:
    reply = lara.reply([], request_)
    assert reply.escalate
    assert reply.escalation_note is not None
    assert reply.escalation_note.startswith("El cliente pide que lo atienda una persona.")
    assert reply.messages  # the customer is told someone is coming


def test_repeating_the_same_question_escalates(lara: RuleBasedLara) -> None:
    _, reply = conversation(lara, "¿Cómo pago la factura?", "como pago la factura")
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "vuelve a preguntar algo que Lara ya le respondió" in reply.escalation_note
    assert "Lara ya le respondió sobre: medios de pago." in reply.escalation_note


def test_repeating_a_greeting_or_a_menu_number_is_not_a_failed_question(
    lara: RuleBasedLara,
) -> None:
    _, reply = conversation(lara, "hola", "hola")
    assert not reply.escalate
    _, reply = conversation(lara, "1", "1")
    assert not reply.escalate


def test_a_message_lara_cannot_classify_gets_one_clarification(lara: RuleBasedLara) -> None:
    reply = lara.reply([], "el perro de mi vecino ladra toda la noche")
    assert not reply.escalate
    assert reply.messages == [CLARIFICATION, MENU_TEXT]


def test_a_second_message_lara_cannot_classify_escalates(lara: RuleBasedLara) -> None:
    _, reply = conversation(lara, "asdfgh", "el perro de mi vecino ladra")
    assert reply.escalate
    assert reply.escalation_note == (
        "El cliente escribió dos veces algo que Lara no entendió. "
        "Escribió: «el perro de mi vecino ladra». Antes: «asdfgh». "
        "Lara le pidió que lo escriba de otra forma y le mostró el menú."
    )


def test_a_classified_message_after_a_clarification_is_answered(lara: RuleBasedLara) -> None:
    _, reply = conversation(lara, "asdfgh", "cuales son los horarios")
    assert not reply.escalate
    assert "lunes a viernes" in reply.messages[0]


def test_the_escalation_note_names_the_motive_chosen_in_the_menu(lara: RuleBasedLara) -> None:
    _, reply = conversation(lara, "1", "mi perro se comió el cable", "algo raro pasa")
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "Motivo elegido en el menú: Soporte técnico." in reply.escalation_note


def test_a_history_that_already_holds_the_incoming_message_is_not_a_repetition(
    lara: RuleBasedLara,
) -> None:
    history = [Turn("lara", WELCOME), Turn("customer", "¿Qué medios de pago tienen?")]
    reply = lara.reply(history, "¿Qué medios de pago tienen?")
    assert not reply.escalate
    assert "Mercado Pago" in reply.messages[0]


def test_greetings_and_thanks_are_answered_in_kind(lara: RuleBasedLara) -> None:
    assert MENU_TEXT in lara.reply([], "Hola!").messages
    thanks = lara.reply([], "muchas gracias")
    assert not thanks.escalate and thanks.messages


def test_the_faq_comes_from_the_configured_file(tmp_path: Path) -> None:
    faq = tmp_path / "faq.json"
    faq.write_text(
        json.dumps(
            {
                "preguntas": [
                    {
                        "tema": "estacionamiento",
                        "palabras_clave": ["estacionamiento", "cochera"],
                        "respuesta": "La clínica tiene cochera propia en la calle Mitre.",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    lara = RuleBasedLara(welcome=WELCOME, faq_path=faq)
    assert lara.reply([], "tienen estacionamiento?").messages[0].startswith("La clínica")
    assert lara.reply([], "cuales son los horarios").messages[0] == CLARIFICATION


def test_lara_never_escalates_without_a_note(lara: RuleBasedLara) -> None:
    for text in ("4", "asdf", "hola", "1", "horarios", "zzz"):
        _, reply = conversation(lara, "qwerty", text)
        assert not reply.escalate or reply.escalation_note


def test_asking_again_what_only_got_the_greeting_is_not_a_repetition(
    lara: RuleBasedLara,
) -> None:
    history = [Turn("customer", "cuales son los horarios?")]
    history += [Turn("lara", m) for m in lara.greet().messages]
    reply = lara.reply(history, "cuales son los horarios?")
    assert not reply.escalate
    assert "lunes a viernes" in reply.messages[0]


def test_a_first_message_that_asks_an_faq_gets_the_welcome_then_the_answer():
    lara = RuleBasedLara(welcome="Bienvenido a ToWebs, ¿en qué podemos ayudarte?")
    reply = lara.open_with("hola, ¿cuáles son los medios de pago?")
    assert reply.messages[0] == "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"
    assert "tarjeta" in reply.messages[1]
    assert not reply.escalate


def test_a_bare_greeting_or_an_unclear_first_message_gets_the_welcome_and_menu_only():
    lara = RuleBasedLara(welcome="Bienvenido a ToWebs, ¿en qué podemos ayudarte?")
    assert lara.open_with("hola").messages == lara.greet().messages
    assert lara.open_with("xqzv").messages == lara.greet().messages


def test_a_first_message_asking_for_a_person_is_welcomed_and_escalated():
    lara = RuleBasedLara(welcome="Bienvenido a ToWebs, ¿en qué podemos ayudarte?")
    reply = lara.open_with("quiero hablar con una persona")
    assert reply.escalate and reply.escalation_note
    assert reply.messages[0] == "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"
