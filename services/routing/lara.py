"""Lara, the default rule-based first responder (pure: reads its FAQ file once, no other I/O).

What Lara does with a customer's message, first rule that applies wins:

1. asks for a person ("4", "quiero hablar con un humano/agente/operador/asesor") -> escalate;
2. repeats a question already asked in this conversation (same normalized text) -> escalate,
   since Lara's answer evidently did not help;
3. picks a menu option by number or by name ("1", "soporte tecnico", "ventas") -> asks for
   the detail of that motive;
4. matches a FAQ entry by keywords (typos tolerated) -> answers it;
5. greets or thanks -> answers in kind;
6. anything else -> one clarification (the menu again); if the very next message is not
   understood either, escalate. One attempt: a customer who was not understood twice is
   better served by a person than by a third menu.

Every escalation carries a note in Spanish giving the reason, which routing keeps as the
internal note of the escalation. Lara never decides who holds the conversation: routing
only asks her in conversations she holds.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.routing.bot import BotReply, Turn
from services.routing.quality import any_phrase, normalize, phrase_in, words

DEFAULT_FAQ_PATH = Path(__file__).with_name("faq.json")


@dataclass(frozen=True)
class MenuOption:
    number: str
    motive: str  # as staff read it in the escalation note
    names: tuple[str, ...]  # normalized phrases that select the option
    prompt: str  # what Lara asks once the option is chosen


MENU = (
    MenuOption(
        "1",
        "Soporte técnico",
        ("soporte tecnico", "soporte", "tecnico", "asistencia tecnica"),
        "Contame brevemente qué problema tenés (por ejemplo: sin internet, el correo no "
        "funciona, la página no carga) y te ayudo.",
    ),
    MenuOption(
        "2",
        "Consulta de servicio",
        ("consulta de servicio", "consulta del servicio", "consulta", "mi servicio"),
        "Contame tu consulta sobre el servicio: estado, facturación, medios de pago u horarios.",
    ),
    MenuOption(
        "3",
        "Ventas",
        ("ventas", "venta", "comprar", "contratar", "contratacion"),
        "¡Genial! ¿Qué te interesa contratar? Puedo contarte planes y precios de hosting, "
        "dominios e internet.",
    ),
    MenuOption(
        "4",
        "Hablar con una persona",
        ("hablar con una persona",),
        "Te comunico con una persona de nuestro equipo.",
    ),
)

MENU_TEXT = "Elegí una opción:\n" + "\n".join(
    f"{option.number}. {option.motive}" for option in MENU
)

PERSON_REQUESTS = (
    "una persona",
    "alguna persona",
    "con persona",
    "persona real",
    "humano",
    "humana",
    "agente",
    "operador",
    "operadora",
    "asesor",
    "asesora",
    "representante",
    "alguien real",
    "hablar con alguien",
    "atencion personalizada",
)

SALUTATION = "¡Hola! ¿En qué te puedo ayudar?"
GREETINGS = ("hola", "buenas", "buen dia", "buenos dias", "buenas tardes", "buenas noches")
THANKS = ("gracias", "grasias", "graciass", "mil gracias", "genial", "perfecto", "listo", "chau")

CLARIFICATION = (
    "Disculpá, no entendí tu consulta. ¿Podrías escribirla de otra forma o elegir una opción "
    "del menú?"
)
HANDOVER = "Te comunico con una persona de nuestro equipo, en breve te responde."
ANYTHING_ELSE = "¿Te puedo ayudar en algo más?"

_MENU_NUMBER = re.compile(r"^(?:opcion|la|el|numero|nro)?\s*([1-9])$")


@dataclass(frozen=True)
class FaqEntry:
    topic: str
    keywords: tuple[str, ...]  # normalized phrases; `*` marks a stem
    answer: str


def load_faq(path: str | os.PathLike[str] | None = None) -> list[FaqEntry]:
    """Read a FAQ file: {"preguntas": [{"tema", "palabras_clave": [...], "respuesta"}]}."""
    raw: dict[str, Any] = json.loads(Path(path or DEFAULT_FAQ_PATH).read_text(encoding="utf-8"))
    return [
        FaqEntry(
            topic=item["tema"],
            keywords=tuple(
                normalize(k) + ("*" if k.endswith("*") else "") for k in item["palabras_clave"]
            ),
            answer=item["respuesta"],
        )
        for item in raw["preguntas"]
    ]


class RuleBasedLara:
    """The default engine behind `LARA_ENGINE=rules`; see the module docstring for the rules."""

    def __init__(
        self,
        welcome: str,
        faq_path: str | os.PathLike[str] | None = None,
        faq: list[FaqEntry] | None = None,
    ) -> None:
        self.welcome = welcome
        self.faq = faq if faq is not None else load_faq(faq_path)

    def greet(self) -> BotReply:
        return BotReply(messages=[self.welcome, MENU_TEXT])

    def open_with(self, incoming: str) -> BotReply:
        """The welcome and menu; when the first message already asks for something Lara
        knows (an FAQ, a menu option, a person), the answer follows the welcome instead of
        the menu. A bare greeting or an unclassifiable first message gets the menu alone:
        asking to clarify before the customer has seen the options would be rude."""
        welcome = self.greet()
        answer = self.reply([], incoming)
        if answer.escalate:
            return BotReply(
                messages=[self.welcome, *answer.messages],
                escalate=True,
                escalation_note=answer.escalation_note,
            )
        unhelpful = not answer.messages or answer.messages[0] in (CLARIFICATION, SALUTATION)
        if unhelpful:
            return welcome
        return BotReply(messages=[self.welcome, *answer.messages])

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        text = normalize(incoming)
        history = _before(history, incoming)
        earlier = self._answered_questions(history)
        option = _menu_option(text)

        if (option is not None and option.number == "4") or any_phrase(PERSON_REQUESTS, text):
            return _escalate("El cliente pidió hablar con una persona.", history)
        if text and text in earlier and _is_a_question(text):
            return _escalate(
                f"El cliente repitió la misma consulta: «{incoming.strip()}».", history
            )
        if option is not None:
            return BotReply(messages=[option.prompt])
        if entry := self.answer_for(text):
            return BotReply(messages=[entry.answer, ANYTHING_ELSE])
        if option := _menu_option_named(text):
            return BotReply(messages=[option.prompt])
        if any_phrase(GREETINGS, text):
            return BotReply(messages=[SALUTATION, MENU_TEXT])
        if any_phrase(THANKS, text):
            return BotReply(messages=["¡Gracias a vos! Si necesitás algo más, escribinos."])
        if CLARIFICATION in _last_lara_messages(history):
            return _escalate(f"Lara no pudo clasificar la consulta: «{incoming.strip()}».", history)
        return BotReply(messages=[CLARIFICATION, MENU_TEXT])

    def answer_for(self, text: str) -> FaqEntry | None:
        """The FAQ entry whose keywords cover most words of `text` (file order on a tie).

        Counting words rather than keywords makes "se me cae" (three words, velocidad) beat
        a loose one-word hit such as "cada" read as a misspelt "caida" (estado del servicio).
        """
        text_words = words(text)
        best: FaqEntry | None = None
        best_weight = 0
        for entry in self.faq:
            weight = sum(len(k.split()) for k in entry.keywords if phrase_in(k, text_words))
            if weight > best_weight:
                best, best_weight = entry, weight
        return best

    def _answered_questions(self, history: list[Turn]) -> set[str]:
        """Normalized customer messages that Lara already answered.

        A message that only got the greeting (routing greets a new conversation instead of
        answering its first message) was never answered: asking it again is no repetition.
        """
        greeting = set(self.greet().messages)
        answered: set[str] = set()
        for i, turn in enumerate(history):
            if turn.author != "customer":
                continue
            answers = []
            for later in history[i + 1 :]:
                if later.author == "customer":
                    break
                answers.append(later.text)
            if any(text not in greeting for text in answers):
                answered.add(normalize(turn.text))
        return answered


def _escalate(reason: str, history: list[Turn]) -> BotReply:
    motive = _chosen_motive(history)
    note = f"{reason} Motivo elegido en el menú: {motive}." if motive else reason
    return BotReply(messages=[HANDOVER], escalate=True, escalation_note=note)


def _before(history: list[Turn], incoming: str) -> list[Turn]:
    """The conversation before `incoming`.

    Lara answers every customer message, so a customer turn at the very end of `history`
    with the same text as `incoming` is `incoming` itself (a caller that stored it first).
    """
    if history and history[-1].author == "customer" and history[-1].text == incoming:
        return history[:-1]
    return history


def _is_a_question(text: str) -> bool:
    """Repeating "hola", "1" or "gracias" is no sign that Lara failed."""
    if _menu_option(text) is not None:
        return False
    return not (len(text.split()) <= 2 and any_phrase(GREETINGS + THANKS, text))


def _menu_option(text: str) -> MenuOption | None:
    """An option chosen by number, or by writing just its name ("ventas")."""
    if match := _MENU_NUMBER.match(text):
        return next((o for o in MENU if o.number == match.group(1)), None)
    for option in MENU:
        if any(
            phrase_in(name, text.split()) and len(text.split()) <= len(name.split()) + 1
            for name in option.names
        ):
            return option
    return None


def _menu_option_named(text: str) -> MenuOption | None:
    """An option named anywhere in a longer message ("necesito soporte con mi web")."""
    text_words = text.split()
    for option in MENU[:3]:
        if any(phrase_in(name, text_words) for name in option.names):
            return option
    return None


def _chosen_motive(history: list[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.author == "customer" and (option := _menu_option(normalize(turn.text))):
            return option.motive
    return None


def _last_lara_messages(history: list[Turn]) -> list[str]:
    """What Lara said since the customer's last message."""
    said: list[str] = []
    for turn in reversed(history):
        if turn.author == "customer":
            break
        if turn.author == "lara":
            said.append(turn.text)
    return said
