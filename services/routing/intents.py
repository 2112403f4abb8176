"""What a customer's message asks for, as Lara decides it (pure).

Reasons to need a person are read first and outrank every FAQ keyword: a disputed charge
mentions the invoice, a cancellation threat mentions the cancellation, a complaint about
a technician mentions the technician; answering the keyword would answer the wrong
question. Only when no such reason is present do FAQ topics compete, by the weight of the
keywords they match (the number of words a keyword needs), file order breaking ties.

Patterns are written in the pattern language of `understanding` (phrases, `|`
alternatives, `&` co-occurrence, `=` exact words).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.understanding import (
    Message,
    Pattern,
    Vocabulary,
    compile_patterns,
    has_words,
    read,
)

CHARGE = "cobr|debit|factura|cargo|monto|pague|cuota|resumen|plata|dinero|tarjeta"

# reason -> (what staff read in the escalation note, patterns)
PERSON_REASONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pide_persona": (
        "pide que lo atienda una persona",
        (
            "persona",
            "humano",
            "ser vivo",
            "agente",
            "operador",
            "asesor",
            "representante",
            "supervisor",
            "encargado",
            "empleado",
            "gerente",
            "vendedor",
            "hablar con",
            "hablar alguien",
            "habl & alguien|persona|soporte|area",
            "atienda alguien",
            "atienda & persona|alguien|verdad",
            "atiende & persona|alguien|verdad",
            "pasame con|pasas con|pasa con|pases con",
            "comunicame|comunicas|comunica con|comunicar con|comunicarme",
            "deriv & con|alguien|area",
            "alguien & ahi|real|verdad|urgente",
            "=bot|robot|maquina",
            "area & facturacion|comercial|ventas|tecnica",
        ),
    ),
    "disputa": (
        "disputa un cobro (doble, desconocido o que no corresponde)",
        (
            f"{CHARGE} & dos veces|2 veces|doble|duplicad|duplicado|de mas|extra|interes|intereses",
            f"{CHARGE} & no reconozco|desconozco|desconocido|no autorice|nunca contrate",
            f"{CHARGE} & no corresponde|mal|no es lo que|nadie explico|sin que|no es mio|no es mia",
            f"{CHARGE} & problema|error|equivoc",
            "no reconozco|desconocido|no autorice|nunca contrate",
            "cobr & nunca|baja|pedi|sigue|siguen|reconexion",
            "pague & sigue|figura|suspend|cortaron",
            "ya pague",
            "me suspendieron",
            "me intimaron|intimacion|carta documento",
            "comodato",
            "me dieron baja",
        ),
    ),
    "reintegro": (
        "pide un reintegro o la devolución de un pago",
        (
            "reembolso",
            "reintegr",
            "devolucion",
            "devuelv",
            "devuelvan",
            "robaron|robo|estaf|estafa",
        ),
    ),
    "reclamo": (
        "hace un reclamo o una queja",
        (
            "reclamo",
            "reclam",
            "queja",
            "denuncia",
            "defensa consumidor",
            "verguenza",
            "chanta|chantas|desastre|inutiles|ladrones",
            "nadie & responde|contesta|respondio|contesto|bola|solucion|resuelve",
            "no me & respond|contest|respondieron|contestaron",
            "nunca & respond|contest|respondieron|contestaron",
            "tercera vez|segunda vez|otra vez escribo",
            "necesito una solucion|quiero una solucion|solucion ya",
            "cortaron llamada|corto llamada",
            "todavia nadie",
            "hace & dias|semana|semanas & sin",
        ),
    ),
    "hackeo": (
        "reporta un sitio o una cuenta hackeada",
        (
            "hacke|hackearon|hackeado|hackeo|jaque",
            "virus|malware|spam",
            "vulner|vulnerado",
            "apuestas",
            "yo no puse",
            "alguien entro",
            "=entraron",
            "borraron todo",
        ),
    ),
    "amenaza_baja": (
        "amenaza con irse o darse de baja",
        (
            "otra empresa|otra compania|otro proveedor|competencia",
            "me voy & otra|otro",
            "baja|cancel|cancelo & si no|si sigue|si esto|estoy por",
            "estoy por cancel|estoy por baja",
        ),
    ),
    "tecnico": (
        "pide una visita técnica o reclama por un técnico",
        (
            "visita",
            "venga & tecnico",
            "=tecnico|tecnicos & vino|viene|venir|vinieron|presento|dejo|rompio|coordinar"
            "|necesito|urgente|casa|cuando|mandar|manden",
            "quem|quemo|quemado",
            "rompio|roto|rota",
            "arbol",
            "cable & cortado|tirado|calle|vereda",
        ),
    ),
    "gestion": (
        "pide una gestión que hace una persona (traslado, titularidad, presupuesto)",
        ("traslad", "titular|titularidad", "presupuesto"),
    ),
}

# Ways to ask for a person that also occur in questions about opening hours ("¿hasta qué
# hora hay alguien?", "¿a qué hora los puedo llamar?"): they count only outside those.
WEAK_PERSON_REQUESTS = (
    "hay alguien",
    "atencion al cliente",
    "me llamen|llamenme|llamar|me llame",
    "telefono & habl|llam|comunic|atiend",
)

# Intents that only matter in context (what Lara already answered).
TRIED = {
    "reiniciar el modem": (
        "ya & reinici|resete|desenchuf|enchuf|apague",
        "reinici & veces",
        "reinicie & todo",
    ),
    "velocidad": ("ya & medi|test|velocidad", "ya hice test", "me da & megas"),
    "todo": (
        "ya probe|ya proba|ya intente|ya hice|ya lo hice|ya hice todo",
        "ya configur|ya puse|ya configurado",
        "ya & todo",
    ),
}

NOT_HELPED = (
    "no sirve",
    "no me sirve",
    "no me sirvio",
    "no sirvio",
    "no ayuda",
    "no entend|no entendes|no entendiste",
    "no te pregunte",
    "lo mismo",
    "otra vez & mismo",
    "sigue igual|sigo igual|sigue todo|siguen igual",
    "sigue sin|sigo sin|sigue & mal|lento|rojo|fallando|caido|caida|andar|funcionar",
    "=nada",
    "igual & no|nada",
    "no funciona|no anda|no me anda|no me funciona|no me llega|no llega|no cambia",
    "todavia no|aun no",
    "peor",
)

GREETINGS = (
    "hola",
    "ola",
    "buenas",
    "buen dia",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "que tal",
    "como estas",
    "como andas",
)
THANKS = ("gracias", "grasias", "mil gracias", "genial", "perfecto", "listo", "chau", "joya")
# A question about opening hours, even when it says "alguien" or "atención al cliente".
HOURS = (
    "hora",
    "horario",
    "que dias",
    "fin de semana",
    "feriado",
    "abiertos",
    "abren",
    "cierran",
    "atienden",
    "noche",
)
GENERIC = (
    "consulta",
    "duda",
    "pregunta",
    "ayuda",
    "ayudar",
    "ayudarme",
    "informacion",
    "tema",
    "problema",
    "algo",
)


@dataclass(frozen=True)
class FaqEntry:
    topic: str
    answer: str
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True)
class Reading:
    """What Lara understood from one message (no context yet)."""

    message: Message
    person_reasons: tuple[str, ...]
    topic: str | None  # the best FAQ topic, if any keyword matched
    topic_weight: int
    tried: frozenset[str]  # FAQ topics (or "todo") the customer says they already tried
    not_helped: bool  # says what Lara said did not work / was not understood
    greeting: bool
    thanks: bool
    generic: bool  # asks for help without saying what
    content_words: int  # words left after greetings and empty words

    @property
    def wants_person(self) -> bool:
        return bool(self.person_reasons)


class Understanding:
    """Compiled patterns plus an FAQ; `read(text)` is the whole per-message cost."""

    def __init__(self, faq: list[tuple[str, list[str], str]]) -> None:
        self.vocabulary = Vocabulary()
        v = self.vocabulary
        self.person = {
            name: compile_patterns(patterns, v) for name, (_, patterns) in PERSON_REASONS.items()
        }
        self.tried = {name: compile_patterns(p, v) for name, p in TRIED.items()}
        self.not_helped = compile_patterns(NOT_HELPED, v)
        self.greetings = compile_patterns(GREETINGS, v)
        self.thanks = compile_patterns(THANKS, v)
        self.generic = compile_patterns(GENERIC, v)
        self.hours = compile_patterns(HOURS, v)
        self.weak_person = compile_patterns(WEAK_PERSON_REQUESTS, v)
        self.faq = [
            FaqEntry(topic, answer, _distinct(compile_patterns(keywords, v)))
            for topic, keywords, answer in faq
        ]
        self._greeting_keys = {
            k for p in self.greetings for part in p.parts for phrase in part for k in phrase
        }

    def read(self, text: str) -> Reading:
        message = read(text, self.vocabulary)
        reasons = tuple(
            name
            for name, patterns in self.person.items()
            if any(p.matches(message) for p in patterns)
        )
        topic, weight = self._topic(message)
        reasons = self._drop_false_person_reasons(reasons, message, topic)
        tried = frozenset(
            name
            for name, patterns in self.tried.items()
            if any(p.matches(message) for p in patterns)
        )
        content = [k for k in message.keys if k not in self._greeting_keys]
        return Reading(
            message=message,
            person_reasons=reasons,
            topic=topic,
            topic_weight=weight,
            tried=tried,
            not_helped=any(p.matches(message) for p in self.not_helped),
            greeting=any(p.matches(message) for p in self.greetings),
            thanks=any(p.matches(message) for p in self.thanks),
            generic=any(p.matches(message) for p in self.generic),
            content_words=len(content),
        )

    def _topic(self, message: Message) -> tuple[str | None, int]:
        best: str | None = None
        best_weight = 0
        for entry in self.faq:
            weight = sum(p.weight for p in entry.patterns if p.matches(message))
            if weight > best_weight:
                best, best_weight = entry.topic, weight
        return best, best_weight

    def _drop_false_person_reasons(
        self, reasons: tuple[str, ...], message: Message, topic: str | None
    ) -> tuple[str, ...]:
        """Words that ask for a person in most messages but not in these: "voy a ir en
        persona" (to the office), "¿hasta qué hora hay alguien / los puedo llamar?"
        (opening hours)."""
        about_hours = topic == "horarios" and any(p.matches(message) for p in self.hours)
        weak_request = any(p.matches(message) for p in self.weak_person)
        if "pide_persona" not in reasons and not about_hours and weak_request:
            reasons = ("pide_persona", *reasons)
        if "pide_persona" in reasons:
            going_in_person = any(
                w == "en" and nxt == "persona"
                for w, nxt in zip(message.written, message.written[1:], strict=False)
            )
            if going_in_person:
                reasons = tuple(r for r in reasons if r != "pide_persona")
        return reasons

    def answer(self, topic: str) -> str:
        return next(e.answer for e in self.faq if e.topic == topic)


def _distinct(patterns: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    """Keywords that stem alike ("cancelar", "cancelo") count once."""
    seen: dict[tuple[object, ...], Pattern] = {}
    for pattern in patterns:
        seen.setdefault(pattern.parts, pattern)
    return tuple(seen.values())


def is_reaction_or_media(text: str) -> bool:
    """No letters nor digits: a reaction (👍), a sticker, a photo or voice note without
    caption. None of them is a question Lara failed to understand."""
    return not has_words(text)
