"""Lara follows the conversation: menu answers, failed answers, reactions and media."""

from __future__ import annotations

import pytest

from services.routing.bot import BotReply, Turn
from services.routing.lara import (
    ANYTHING_ELSE,
    CLARIFICATION,
    MEDIA_PROMPT,
    MENU,
    MENU_TEXT,
    RuleBasedLara,
)

WELCOME = "Bienvenido a ToWebs, ¿en qué podemos ayudarte?"


@pytest.fixture
def lara() -> RuleBasedLara:
    return RuleBasedLara(welcome=WELCOME)


def play(lara: RuleBasedLara, *customer: str) -> tuple[list[Turn], BotReply]:
    """The customer's messages through Lara, starting with the first one (open_with)."""
    history: list[Turn] = []
    reply = BotReply()
    for i, text in enumerate(customer):
        reply = lara.open_with(text) if i == 0 else lara.reply(history, text)
        history += [Turn("customer", text)] + [Turn("lara", m) for m in reply.messages]
    return history, reply


def faq_answer(lara: RuleBasedLara, topic: str) -> str:
    return next(e.answer for e in lara.faq if e.topic == topic)


def test_an_answer_to_the_menu_is_understood_against_the_menu(lara: RuleBasedLara) -> None:
    _, reply = play(lara, "hola", "3", "internet de 300 megas")
    assert faq_answer(lara, "precios y planes") in reply.messages


def test_ya_probe_eso_after_an_answer_hands_over(lara: RuleBasedLara) -> None:
    _, reply = play(lara, "el modem tiene la luz roja", "ya probe eso")
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "reiniciar el modem" in reply.escalation_note  # what Lara already told them
    assert "«el modem tiene la luz roja»" in reply.escalation_note  # what they wrote first


def test_a_second_failed_answer_hands_over(lara: RuleBasedLara) -> None:
    _, reply = play(lara, "se me corta el wifi", "no me anda igual", "sigue igual")
    assert reply.escalate


def test_lara_never_sends_the_same_answer_twice(lara: RuleBasedLara) -> None:
    history, reply = play(
        lara, "internet anda lentisimo", "hola?", "internet anda lento", "lento!!!"
    )
    said = [t.text for t in history if t.author == "lara" and t.text != ANYTHING_ELSE]
    answers = [a for a in said if a in {e.answer for e in lara.faq}]
    assert len(answers) == len(set(answers))
    assert reply.escalate


def test_a_reaction_after_a_voice_note_is_not_a_failed_clarification(
    lara: RuleBasedLara,
) -> None:
    history, reply = play(lara, "hola", "")  # a voice note: no text
    assert reply.messages == [MEDIA_PROMPT]
    reply = lara.reply(history, "👍")
    assert reply == BotReply()  # nothing to answer, no escalation
    history += [Turn("customer", "👍")]
    reply = lara.reply(history, "cuando vence la factura")
    assert not reply.escalate
    assert faq_answer(lara, "factura") in reply.messages


def test_reactions_and_stickers_never_count_against_the_customer(lara: RuleBasedLara) -> None:
    history, _ = play(lara, "asdfgh")  # the menu
    reply = lara.reply(history, "qwerty")
    assert reply.messages == [CLARIFICATION, MENU_TEXT]
    history += [Turn("customer", "qwerty")] + [Turn("lara", m) for m in reply.messages]
    for reaction in ("👍", "❤️", "🙏🏻"):
        assert lara.reply(history, reaction) == BotReply()
        history.append(Turn("customer", reaction))
    # The clarification is still the last thing Lara said: a real answer is understood.
    reply = lara.reply(history, "cuales son los horarios?")
    assert not reply.escalate


def test_a_second_voice_note_in_a_row_is_handed_over_with_why(lara: RuleBasedLara) -> None:
    _, reply = play(lara, "hola", "", "")
    assert reply.escalate
    assert reply.escalation_note is not None
    assert "audios" in reply.escalation_note


def test_the_handover_note_says_what_lara_already_told_and_the_menu_motive(
    lara: RuleBasedLara,
) -> None:
    _, reply = play(lara, "hola", "1", "anda muy lento", "ya medi y me da 2 megas")
    assert reply.escalate
    note = reply.escalation_note
    assert note is not None
    assert "Lara ya le respondió sobre: velocidad." in note
    assert "Escribió: «ya medi y me da 2 megas»." in note
    assert "Motivo elegido en el menú: Soporte técnico." in note


def test_the_faq_answers_come_back_unmasked(lara: RuleBasedLara) -> None:
    reply = lara.reply([], "me olvide la contraseña")
    assert reply.messages[0].startswith(
        "Podés restablecer tu contraseña desde towebs.com/mi-cuenta"
    )


def test_lara_reads_the_customers_original_text(lara: RuleBasedLara) -> None:
    # Masked text ("mi clave ••••••") would lose the question; the original is understood.
    reply = lara.reply([], "mi clave no funciona, no puedo entrar a mi cuenta")
    assert faq_answer(lara, "contraseña") in reply.messages


def test_an_option_prompt_is_not_repeated_when_named_again(lara: RuleBasedLara) -> None:
    history, reply = play(lara, "hola", "ventas")
    assert reply.messages == [MENU[2].prompt]
    reply = lara.reply(history, "quiero saber de ventas y algo mas")
    assert reply.messages != [MENU[2].prompt]
