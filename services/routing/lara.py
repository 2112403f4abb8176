"""Lara, the default rule-based first responder (pure: reads its FAQ file once, no other I/O).

What Lara does with a customer's message, in order (`reply`):

1. A reaction (👍) or a sticker gets no answer; a photo or voice note without text gets one
   request to write it down, and only a second one in a row is handed over (Lara cannot
   read them). Neither is ever counted as a message Lara failed to understand.
2. A menu option alone ("2", "opción 3", "ventas") → that option's question; "4" → a person.
3. A reason to need a person (see `intents.PERSON_REASONS`: asking for one in any words, a
   disputed or unknown charge, a refund, a complaint, an earlier unanswered contact, a
   hacked site, a cancellation threat, a technician's visit or a complaint about one, an
   errand only staff can do) → a person, whatever FAQ keyword the message also contains.
4. What the customer already tried ("ya reinicié el módem dos veces") or says did not
   help ("ya probé eso", "sigue igual", "no me sirve") after Lara's answer → a person:
   Lara never sends again an answer the customer has been through.
5. An FAQ topic → its answer; a topic Lara already answered in this conversation → a
   person (never the same answer twice).
6. A menu option named inside a longer message → its question; a greeting → the menu;
   thanks → a farewell.
7. Anything else → one clarification with the menu; not understood again → a person.

Every hand-over carries a note for staff (what the customer wants, what they wrote, what
Lara already told them, what they already tried, the option chosen in the menu) and tells
the customer that a person will answer and, outside office hours, when.

Lara is stateless: everything comes from `history`. She receives the customer's original
text and returns her FAQ answers as written: nothing here masks anything.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from services.routing.dialogue import BotReply, Turn
from services.routing.handover import Clock, OfficeHours, handover_messages, system_clock
from services.routing.intents import PERSON_REASONS, Reading, Understanding
from services.routing.understanding import has_words, normalize

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
        ("soporte tecnico", "soporte tecnco", "soporte", "asistencia tecnica", "tecnico"),
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
        ("ventas", "venta", "comprar", "contratar", "quiero contratar", "contratacion"),
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

SALUTATION = "¡Hola! ¿En qué te puedo ayudar?"
FAREWELL = "¡Gracias a vos! Si necesitás algo más, escribinos."
CLARIFICATION = (
    "Disculpá, no entendí tu consulta. ¿Podrías escribirla de otra forma o elegir una opción "
    "del menú?"
)
MEDIA_PROMPT = (
    "Por ahora no puedo escuchar audios ni ver imágenes o archivos. ¿Me contás por escrito "
    "qué necesitás?"
)
ANYTHING_ELSE = "¿Te puedo ayudar en algo más?"
SALES_TOPIC = "precios y planes"  # what a product named after the sales question asks

_MENU_NUMBER = re.compile(r"^(?:opcion|la|el|numero|nro)?\s*([1-9])$")
_NAMES_OF = {
    "reiniciar el modem": "reiniciar el módem",
    "todo": "lo que le indicaron",
    "velocidad": "medir la velocidad",
}


@dataclass(frozen=True)
class FaqEntry:
    topic: str
    keywords: tuple[str, ...]  # patterns of `understanding` (phrases, `|`, `&`, `=`)
    answer: str


def load_faq(path: str | os.PathLike[str] | None = None) -> list[FaqEntry]:
    """Read a FAQ file: {"preguntas": [{"tema", "palabras_clave": [...], "respuesta"}]}."""
    raw: dict[str, Any] = json.loads(Path(path or DEFAULT_FAQ_PATH).read_text(encoding="utf-8"))
    return [
        FaqEntry(
            topic=item["tema"], keywords=tuple(item["palabras_clave"]), answer=item["respuesta"]
        )
        for item in raw["preguntas"]
    ]


@dataclass
class Context:
    """What Lara already said in this conversation, read back from the history."""

    last_reply: list[str] = field(default_factory=list)  # Lara's messages since the last text
    last_topic: str | None = None  # the FAQ topic of that reply, if it was an answer
    answered: list[str] = field(default_factory=list)  # FAQ topics answered, in order
    menu_shown: bool = False
    clarified: bool = False  # Lara asked the customer to say it in other words
    motive: str | None = None  # the last menu option the customer chose
    customer_texts: list[str] = field(default_factory=list)


class RuleBasedLara:
    """The default engine behind `LARA_ENGINE=rules`; see the module docstring for the rules.

    `office` and `clock` decide what a handed-over customer is told about when a person
    will answer; without `office`, only that a person will answer.
    """

    def __init__(
        self,
        welcome: str,
        faq_path: str | os.PathLike[str] | None = None,
        faq: list[FaqEntry] | None = None,
        office: OfficeHours | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.welcome = welcome
        self.faq = faq if faq is not None else load_faq(faq_path)
        self.understanding = Understanding(
            [(e.topic, list(e.keywords), e.answer) for e in self.faq]
        )
        self.office = office
        self.clock = clock
        self._answers = {e.answer: e.topic for e in self.faq}
        self._prompts = {o.prompt: o for o in MENU}

    # --- the Bot interface ------------------------------------------------------------

    def greet(self) -> BotReply:
        return BotReply(messages=[self.welcome, MENU_TEXT])

    def open_with(self, incoming: str) -> BotReply:
        """The welcome, then: the answer when the first message already asks something Lara
        knows (an FAQ, a menu option), the hand-over when it needs a person, else the menu.
        Asking to clarify before the customer has seen the options would be rude."""
        answer = self.reply([], incoming)
        if answer.escalate:
            return BotReply(
                messages=[self.welcome, *answer.messages],
                escalate=True,
                escalation_note=answer.escalation_note,
            )
        unhelpful = not answer.messages or answer.messages[0] in (
            CLARIFICATION,
            SALUTATION,
            MEDIA_PROMPT,
            FAREWELL,
        )
        if unhelpful:
            return self.greet()
        return BotReply(messages=[self.welcome, *answer.messages])

    def reply(self, history: list[Turn], incoming: str) -> BotReply:
        history = _before(history, incoming)
        context = self.context(history)
        if not has_words(incoming):
            return self._without_words(incoming, context)
        reading = self.understanding.read(incoming)
        option = menu_option(incoming)

        if option is not None and option.number == "4":
            return self._escalate(["pide_persona"], incoming, reading, context)
        if reading.wants_person:
            return self._escalate(list(reading.person_reasons), incoming, reading, context)
        if option is not None:
            return BotReply(messages=[option.prompt])
        if self._already_tried(reading, context):
            return self._escalate(["ya_probo"], incoming, reading, context)
        if (
            reading.not_helped
            and context.last_reply
            and (
                reading.topic is None
                or reading.topic == context.last_topic
                or reading.topic in context.answered
            )
        ):
            return self._escalate(["no_le_sirvio"], incoming, reading, context)
        if reading.topic is not None:
            if reading.topic in context.answered:
                return self._escalate(["repite"], incoming, reading, context)
            return BotReply(messages=[self.understanding.answer(reading.topic), ANYTHING_ELSE])
        if self._sales_answer(reading, context):
            return BotReply(messages=[self.understanding.answer(SALES_TOPIC), ANYTHING_ELSE])
        if (named := _menu_option_named(incoming)) and named.prompt not in context.last_reply:
            return BotReply(messages=[named.prompt])
        if reading.greeting and reading.content_words <= 2:
            if MENU_TEXT in context.last_reply:
                return BotReply(messages=[SALUTATION])
            return BotReply(messages=[SALUTATION, MENU_TEXT])
        if reading.thanks and reading.content_words <= 3:
            return BotReply(messages=[FAREWELL])
        if CLARIFICATION in context.last_reply:
            return self._escalate(["no_entendida"], incoming, reading, context)
        return BotReply(messages=[CLARIFICATION, MENU_TEXT])

    # --- reading the conversation -----------------------------------------------------

    def context(self, history: list[Turn]) -> Context:
        context = Context()
        for turn in history:
            if turn.author == "customer":
                if not has_words(turn.text):
                    continue  # a reaction or a sticker: Lara's last reply still stands
                context.customer_texts.append(turn.text)
                context.last_reply = []
                context.last_topic = None
                if option := menu_option(turn.text):
                    context.motive = option.motive
            elif turn.author == "lara":
                context.last_reply.append(turn.text)
                if topic := self._answers.get(turn.text):
                    context.last_topic = topic
                    context.answered.append(topic)
                context.menu_shown |= turn.text == MENU_TEXT
                context.clarified |= turn.text == CLARIFICATION
        return context

    def _without_words(self, incoming: str, context: Context) -> BotReply:
        if incoming.strip():
            return BotReply()  # a reaction or a sticker: nothing to answer
        if MEDIA_PROMPT in context.last_reply:
            reading = self.understanding.read("")
            return self._escalate(["adjuntos"], incoming, reading, context)
        return BotReply(messages=[MEDIA_PROMPT])

    def _sales_answer(self, reading: Reading, context: Context) -> bool:
        """After "¿Qué te interesa contratar?", naming a product ("internet de 300 megas")
        is asking for its plans and prices."""
        return (
            MENU[2].prompt in context.last_reply
            and SALES_TOPIC in self._answers.values()
            and SALES_TOPIC not in context.answered
            and not reading.greeting
            and not reading.thanks
            and reading.content_words > 0
        )

    @staticmethod
    def _already_tried(reading: Reading, context: Context) -> bool:
        """The customer says they already did what Lara's answer (given or due) says."""
        if not reading.tried:
            return False
        concerned = {reading.topic, context.last_topic} - {None}
        if "todo" in reading.tried:
            return bool(concerned) or bool(context.last_reply)
        restart_helps = {"reiniciar el modem", "estado del servicio", "velocidad"}
        if "reiniciar el modem" in reading.tried and concerned & restart_helps:
            return True
        return "velocidad" in reading.tried and "velocidad" in concerned

    # --- handing over -----------------------------------------------------------------

    def _escalate(
        self, reasons: list[str], incoming: str, reading: Reading, context: Context
    ) -> BotReply:
        now: datetime = self.clock()
        return BotReply(
            messages=handover_messages(self.office, now),
            escalate=True,
            escalation_note=escalation_note(reasons, incoming, reading, context),
        )


REASONS_IN_CONTEXT = {
    "ya_probo": "ya probó lo que indica la respuesta automática y sigue con el problema",
    "no_le_sirvio": "dice que la respuesta de Lara no le sirvió",
    "repite": "vuelve a preguntar algo que Lara ya le respondió",
    "no_entendida": "escribió dos veces algo que Lara no entendió",
    "adjuntos": "envía audios, imágenes o archivos sin texto, que Lara no puede leer",
}


def escalation_note(reasons: list[str], incoming: str, reading: Reading, context: Context) -> str:
    """The internal note staff read first, in Spanish: why, what the customer wrote, what
    Lara already told them and what they tried, so nobody asks again."""
    described = [
        PERSON_REASONS[r][0] if r in PERSON_REASONS else REASONS_IN_CONTEXT.get(r, r)
        for r in reasons
    ]
    parts = [f"El cliente {'; '.join(described)}."]
    if incoming.strip():
        parts.append(f"Escribió: «{incoming.strip()}».")
    earlier = [t for t in context.customer_texts if normalize(t) != normalize(incoming)]
    if earlier:
        parts.append("Antes: " + " / ".join(f"«{t.strip()}»" for t in earlier[-3:]) + ".")
    if reading.topic:
        parts.append(f"Tema: {reading.topic}.")
    if context.answered:
        told = ", ".join(dict.fromkeys(context.answered))
        parts.append(f"Lara ya le respondió sobre: {told}.")
    elif context.clarified:
        parts.append("Lara le pidió que lo escriba de otra forma y le mostró el menú.")
    elif context.menu_shown:
        parts.append("Lara solo le mostró el menú.")
    if reading.tried:
        tried = ", ".join(_NAMES_OF.get(t, t) for t in sorted(reading.tried))
        parts.append(f"Ya probó: {tried}.")
    if context.motive:
        parts.append(f"Motivo elegido en el menú: {context.motive}.")
    return " ".join(parts)


def _before(history: list[Turn], incoming: str) -> list[Turn]:
    """The conversation before `incoming`.

    Lara answers every customer message, so a customer turn at the very end of `history`
    with the same text as `incoming` is `incoming` itself (a caller that stored it first).
    """
    if history and history[-1].author == "customer" and history[-1].text == incoming:
        return history[:-1]
    return history


def menu_option(text: str) -> MenuOption | None:
    """An option chosen by number, or by writing just its name ("ventas")."""
    text = normalize(text)
    if match := _MENU_NUMBER.match(text):
        return next((o for o in MENU if o.number == match.group(1)), None)
    words = text.split()
    for option in MENU:
        if any(" ".join(words) == name or " ".join(words[1:]) == name for name in option.names):
            return option
    return None


def _menu_option_named(text: str) -> MenuOption | None:
    """An option named inside a longer message ("necesito soporte con mi web")."""
    padded = f" {normalize(text)} "
    for option in MENU[:3]:
        if any(f" {name} " in padded for name in option.names if name != "tecnico"):
            return option
    return None
