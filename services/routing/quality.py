"""Quality review of a chat against the contact structure (pure).

Support teams review chats against a contact structure: greet, paraphrase the problem,
ask diagnostic questions, keep a customer on hold only with renewals every ~2 minutes,
explain what was done or found, give a ticket number when the problem could not be solved
and close with "¿podemos ayudarte en algo más?". `score_chat` applies that structure to
the lines of a conversation (live or closed) and says, per criterion, met / not met /
pending / not applicable with the lines that support the verdict. A live chat is judged by
what the operator did: what has not happened yet is pending, never not met.

Spelling is credited, never disqualifying: every phrase is matched on normalized text
(no accents, lower case, punctuation dropped) and each word tolerates a typo or two
(see `words_match`). This module also defines what a hold request is, so that the hold
reminders (`holds.py`) and the review agree on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from services.routing import understanding
from shared.text import fold

Author = Literal["customer", "lara", "agent", "staff", "system"]
# `pending`: a live chat where it has not happened YET. Seed 001 judges live chats by what
# the agent did ("no debes fijarte tanto en lo que le falta"), and an explanation may come
# late, so what is still due is neither met nor a failure, and it does not count in the score.
Verdict = Literal["met", "not_met", "pending", "not_applicable"]

# ---------------------------------------------------------------------------------------------
# Spelling-tolerant matching of Spanish phrases
# ---------------------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces: "¿Qué   TAL?" -> "que tal"."""
    return _NOT_WORD.sub(" ", fold(text)).strip()


def words(text: str) -> list[str]:
    return normalize(text).split()


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau (optimal string alignment) distance, cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _typos_allowed(word: str) -> int:
    # Short words carry meaning in every letter ("mas" / "mes", "hola" / "la"); long ones
    # survive a slip.
    if len(word) <= 4:
        return 0
    if len(word) <= 9:
        return 1
    return 2


_SOUNDS = (("ch", "0"), ("qu", "k"), ("ll", "y"), ("h", ""), ("v", "b"), ("z", "s"))
_SOFT_C = re.compile(r"c(?=[ei])")


@lru_cache(maxsize=8192)
def sounds_like(word: str) -> str:
    """Spanish spelling key: letters that sound alike are one ("ll"/"y", "v"/"b", "z"/"s",
    soft "c"/"s", silent "h"), so "yegan" is "llegan", "grasias" is "gracias"."""
    key = _SOFT_C.sub("s", word)
    for written, sound in _SOUNDS:
        key = key.replace(written, sound)
    return key.replace("c", "k")


@lru_cache(maxsize=65536)
def words_match(expected: str, written: str) -> bool:
    """Does `written` spell the normalized word `expected`, typos tolerated?

    A trailing `*` makes `expected` a stem: "aguard*" accepts "aguarde", "aguardame",
    "aguardes" (and "agurde" with a typo in the stem).
    """
    if expected.endswith("*"):
        stem = expected[:-1]
        if written.startswith(stem) or sounds_like(written).startswith(sounds_like(stem)):
            return True
        allowed = _typos_allowed(stem) if len(stem) > 5 else 0
        return (
            allowed > 0
            and written[:1] == stem[:1]
            and any(
                _edit_distance(stem, written[:n], allowed) <= allowed
                for n in range(max(1, len(stem) - allowed), len(stem) + allowed + 1)
            )
        )
    if expected == written:
        return True
    expected, written = sounds_like(expected), sounds_like(written)
    if expected == written:
        return True
    allowed = _typos_allowed(expected)
    # Nobody misses the first letter: "guarde" is not a misspelt "aguarde".
    return (
        allowed > 0
        and written[:1] == expected[:1]
        and _edit_distance(expected, written, allowed) <= allowed
    )


def phrase_in(phrase: str, text_words: Sequence[str]) -> bool:
    """Does the phrase (normalized words, `*` stems allowed) occur contiguously in the text?"""
    wanted = phrase.split()
    if not wanted or len(wanted) > len(text_words):
        return False
    for start in range(len(text_words) - len(wanted) + 1):
        if all(words_match(w, t) for w, t in zip(wanted, text_words[start:], strict=False)):
            return True
    return False


def any_phrase(phrases: Iterable[str], text: str) -> bool:
    text_words = words(text)
    return any(phrase_in(p, text_words) for p in phrases)


@lru_cache(maxsize=65536)
def sounds_the_same(expected: str, written: str) -> bool:
    """Like `words_match` without the edit distance: only spellings that sound the same
    ("revice" = "revise"). Used where one letter changes the meaning: "reviso" (I am
    checking) is not "revisé" (I checked), "reinicia" (restart it) is not "reinicié"."""
    if expected.endswith("*"):
        stem = expected[:-1]
        return written.startswith(stem) or sounds_like(written).startswith(sounds_like(stem))
    return expected == written or sounds_like(expected) == sounds_like(written)


def strict_phrase_in(phrase: str, text_words: Sequence[str]) -> bool:
    wanted = phrase.split()
    if not wanted or len(wanted) > len(text_words):
        return False
    return any(
        all(sounds_the_same(w, t) for w, t in zip(wanted, text_words[start:], strict=False))
        for start in range(len(text_words) - len(wanted) + 1)
    )


# ---------------------------------------------------------------------------------------------
# The contact structure's vocabulary (normalized; `*` marks a stem)
# ---------------------------------------------------------------------------------------------

HOLD_REQUESTS = (
    "aguard*",  # aguarde, aguardame, aguardes, aguardas, aguardá
    "espere un moment*",
    "esperame",
    "espera un moment*",
    "esperame un moment*",
    "me mantengo en linea",
    "me mantengo en el chat",
    "mantenete en linea",
    "mantengase en linea",
    "no te desconectes",
    "un momento por favor",
    "un momento mas",
    "un momentito",
    "dame unos minutos",
    "deme unos minutos",
    "dame un minuto",
    "deme un minuto",
    "unos minutos por favor",
    "ya te confirmo",
    "ya le confirmo",
    "enseguida te confirmo",
    "enseguida le confirmo",
    "ya te respondo",
    "ya vuelvo con",
    "dejame revisar",
    "permitime un",
    "permitame un",
)

# Matched only as written (or spelt as it sounds), never with a typo: one letter turns
# "ya vuelvo" (I'll be back) into "ya vuelve" (is it back?), "estoy revisando" into "estás".
HOLD_REQUESTS_AS_WRITTEN = (
    "ya vuelvo",
    "ya regreso",
    "vuelvo enseguida",
    "enseguida vuelvo",
    "vuelvo en un moment*",
    "estoy revisando",
    "estoy verificando",
    "estoy chequeando",
    "estoy controlando",
    "estoy consultando",
    "dame un momento",
    "deme un momento",
    "dame un segundo",
    "deme un segundo",
    "ya te aviso",
    "ya le aviso",
)

HOLD_RENEWALS = (
    "gracias por aguardar",
    "gracias por tu espera",
    "gracias por la espera",
    "gracias por su espera",
    "agradezco tu espera",
    "agradezco la espera",
    "disculpa la demora",
    "disculpe la demora",
    "perdon la demora",
    "sigo revisando",
    "sigo verificando",
    "sigo controlando",
    "sigo con tu caso",
    "continuo revisando",
    "continuo verificando",
    "seguimos revisando",
    "seguimos verificando",
    "todavia estoy revisando",
    "aun estoy revisando",
    "ya casi",
    "estoy terminando",
)

GREETINGS = (
    "hola",
    "buenas",
    "buen dia",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "bienvenid*",
    "mi nombre es",
    "te saluda",
    "le saluda",
    "te habla",
    "te atiende",
    "le atiende",
)

PARAPHRASES = (
    "entiendo que",
    "entiendo estas",  # "Entiendo, estás teniendo problemas con el envío de mails…"
    "entiendo esta",
    "entiendo tenes",
    "entiendo tiene",
    "entiendo lo que",
    "entendi que",
    "estas teniendo problema*",
    "esta teniendo problema*",
    "estas teniendo inconvenient*",
    "esta teniendo inconvenient*",
    "tenes problemas con",
    "tiene problemas con",
    "tenes un problema con",
    "tiene un problema con",
    "te esta pasando que",
    "le esta pasando que",
    "lo que te pasa es",
    "lo que le pasa es",
    "por lo que me contas",
    "por lo que me cuenta",
    "por lo que entiendo",
    "me contaste que",
    "me comentaste que",
    "o sea que",
    "si entendi bien",
    "si te entiendo bien",
    "si no me equivoco",
    "segun me comentas",
    "segun me indicas",
    "segun lo que me contas",
    "por lo que me comentas",
    "por lo que me decis",
    "por lo que me indicas",
    "me comentas que",
    "me indicas que",
    "me decis que",
    "me contas que",
    "me dice que",
    "me comenta que",
    "me indica que",
    "comprendo que",
    "lo que me decis es",
    "lo que necesitas es",
    "entonces tu consulta es",
    "entonces el problema es",
    "tu consulta es sobre",
    "para confirmar",
    "resumiendo",
)

# What the operator did or found, matched without typo tolerance (see `sounds_the_same`):
# first person past tense, written with or without the accent.
EXPLANATION_VERBS = (
    "revise",
    "revisamos",
    "verifique",
    "verificamos",
    "chequee",
    "chequeamos",
    "controle",
    "controlamos",
    "comprobe",
    "comprobamos",
    "encontre",
    "encontramos",
    "detecte",
    "detectamos",
    "identifique",
    "realice",
    "reinicie",
    "restableci",
    "restaure",
    "configure",
    "corregi",
    "actualice",
    "aplique",
    "libere",
    "limpie",
    "desbloquee",
    "habilite",
    "deshabilite",
    "active",
    "desactive",
    "reactive",
    "regenere",
    "repare",
    "arregle",
    "solucione",
    "modifique",
    "cambie",
    "vi que",
    "vimos que",
)

# What was found, in other words than a verb in the past.
EXPLANATIONS = (
    "hemos detectado",
    "el problema era",
    "el problema es",
    "el inconveniente era",
    "el inconveniente es",
    "se debia a",
    "se debe a",
    "se debe al",
    "la causa",
    "el motivo",
    "quedo solucionado",
    "quedo resuelto",
    "ya esta solucionado",
    "ya esta resuelto",
    "se soluciono",
    "lo que hice",
    "pude ver que",
    "puedo ver que",
    "veo que",
    "observo que",
    "figura",
    "se encontraba",
    "estaba vencid*",
    "estaba suspendid*",
    "estaba bloquead*",
    "estaba desactivad*",
    "estaba llen*",
    "tenia desactivad*",
    "tenia el",
    "habia perdido",
    "esta quemad*",
    "estaba quemad*",
    "esta rot*",
    "estaba rot*",
    "hay una falla",
    "hay un corte",
    "hay una averia",
    "tenemos una falla",
    "hay un problema en",
    "hay un error en",
    "hubo un error",
    "hubo un problema",
    "hubo una falla",
    "me confirma que",
    "me confirman que",
    "me confirmaron que",
    "nos confirma que",
    "ese codigo indica",
    "indica que",
    "significa que",
)

# Words with which an operator says the problem goes on to a ticket (servicio técnico).
TICKET_MENTIONS = (
    "servicio tecnico",
    "ticket",
    "numero de caso",
    "numero de reclamo",
    "numero de gestion",
    "numero de servicio",
    "nro de servicio",
    "reclamo",
    "visita tecnica",
    "visita de un tecnico",
    "un tecnico",
    "derive tu caso",
    "derivo tu caso",
    "derivamos tu caso",
    "derive el caso",
    "derivo el caso",
    "escalo tu caso",
    "escale tu caso",
    "no pudimos solucionar",
    "no pude solucionar",
    "no pudimos resolver",
    "no pude resolver",
    "no se pudo resolver",
    "no se pudo solucionar",
)

# The customer says, at the end, that the problem goes on.
STILL_BROKEN = (
    "sigue sin",
    "sigue igual",
    "sigue fallando",
    "sigue con el problema",
    "todavia no funciona",
    "todavia no anda",
    "todavia no me",
    "aun no funciona",
    "aun no anda",
    "sigue sin funcionar",
    "no se soluciono",
)

CLOSING_QUESTIONS = (
    "algo mas",
    "alguna otra consulta",
    "otra consulta",
    "alguna otra duda",
    "otra duda",
    "alguna consulta mas",
    "alguna duda mas",
    "otra cosa en que",
    "necesitas algo mas",
    "necesita algo mas",
)

# "¿En qué puedo ayudarte?" is a greeting, not a diagnostic question.
HELP_OFFERS = (
    "en que te puedo ayudar",
    "en que le puedo ayudar",
    "en que puedo ayudar*",
    "en que podemos ayudar*",
    "en que te podemos ayudar",
    "como te puedo ayudar",
    "como puedo ayudar*",
    "como podemos ayudar*",
)

DIAGNOSTIC_STARTS = (
    "desde cuando",
    "me podes",
    "me podrias",
    "me puede",
    "me podria",
    "podrias",
    "podria",
    "me confirmas",
    "me confirma",
    "me indicas",
    "me indica",
    "me pasas",
    "me pasa",
    "me decis",
    "me dice",
    "probaste",
    "probo",
    "intentaste",
    "intento",
    "te aparece",
    "le aparece",
    "que mensaje",
    "que error",
    "que luces",
    "cual es",
    "cuales son",
    "tenes",
    "tiene",
    "sucede",
    "pasa en",
    "pasa con",
    "en que dispositivo",
    "hiciste",
)

PROBLEM_SIGNS = (
    "no logro",
    "no consigo",
    "no me sale",
    "no aparece",
    "no aparecen",
    "no me aparece",
    "no me aparecen",
    "dejo de",
    "se cierra",
    "me da error",
    "no prende",
    "no funciona",
    "no anda",
    "no me anda",
    "no me funciona",
    "no puedo",
    "no me deja",
    "no me puedo",
    "no imprime",
    "en blanco",
    "me cortaron",
    "expirad*",
    "no tiene senal",
    "no me llega",
    # How customers say something misbehaves, beyond "no funciona".
    "ruido",
    "interferencia",
    "se reinicia",
    "se apaga",
    "se tilda",
    "se cuelga",
    "se traba",
    "se congela",
    "duplicad*",
    "dos veces",
    "de mas",
    "vino mal",
    "esta mal",
    "incorrect*",
    "no figur*",
    "no me encuentran",
    "no lo encuentro",
    "no la encuentro",
    "desaparec*",
    "no se ve",
    "no se escucha",
    "no escucho",
    "sigue sin",
    "no es segur*",
    "malisim*",
    "pesim*",
    "horrible",
    "rechaz*",
    "vencid*",
    "timeout",
    "no resuelve",
    "no sale",
    "no salen",
    "no envia",
    "no recibo",
    "no me llegan",
    "no carga",
    "no abre",
    "no entra",
    "no conecta",
    "no se conecta",
    "no tengo",
    "sin internet",
    "sin servicio",
    "sin conexion",
    "sin senal",
    "se corta",
    "se me corta",
    "se corto",
    "se cae",
    "se me cae",
    "se cayo",
    "no enciende",
    "no prende",
    "no da tono",
    "no responde",
    "no se renueva",
    "no se ve",
    "no llega",
    "no llegan",
    "no seguro",
    "borre",
    "sin querer",
    "se borro",
    "perdi",
    "virus",
    "spam",
    "caid*",
    "lent*",
    "problema",
    "inconveniente",
    "error",
    "fall*",
    "rebot*",
    "me cobraron",
    "me suspendieron",
    "suspendid*",
    "bloquead*",
    "hackearon",
)

GRATITUDE = (
    "gracias",
    "graciass",
    "grax",
    "grasias",
    "agradezco",
    "agradecid*",
    "me salvaste",
    "me salvo",
    "me salvaron",
    "buena atencion",
    "excelente",
    "genial",
    "muy amable",
    "muy amables",
    "sos un genio",
    "sos una genia",
    "un genio",
    "un capo",
    "una capa",
    "crack",
    "barbaro",
    "joya",
    "de diez",
    "impecable",
    "re amable",
    "mil gracias",
)

# On normalized text: "ST-000123" -> "st 000123", "caso #4821" -> "caso 4821".
_TICKET_NUMBER = re.compile(
    r"\b(?:st|tk|tkt|caso|reclamo|ticket|gestion|servicio|numero|nro)"
    r"(?:\s+(?:es|el|nro|numero|n|de|del|tu|su|tecnico|caso|reclamo|gestion|ticket))*"
    r"\s+\d{3,}\b"
)

_OPERATORS: tuple[Author, ...] = ("agent", "staff")
_HOLD_LIMIT_SECONDS = 150.0  # renewals are due every ~2 minutes; ~2.5 min is the tolerance


def is_hold_request(text: str) -> bool:
    """Does the holder ask the customer to wait ("aguarde un momento", "ya te confirmo",
    "Ya vuelvo, estoy revisando")?"""
    if any_phrase(HOLD_REQUESTS, text):
        return True
    text_words = words(text)
    return any(strict_phrase_in(phrase, text_words) for phrase in HOLD_REQUESTS_AS_WRITTEN)


def is_hold_renewal(text: str) -> bool:
    """A message that keeps a wait going: a new hold request or "sigo revisando"..."""
    return is_hold_request(text) or any_phrase(HOLD_RENEWALS, text)


_SENTENCE = re.compile(r"[.!?¿¡;:\n]+")
_ACCENTED_PAST = re.compile(r"é\b")


def explains(text: str) -> bool:
    """Does the operator say what they checked, found or did?

    A past-tense verb counts when written as such: "revisé", "reinicié" (or "revise" inside
    a sentence); not "reviso"/"verifico" (still checking), nor "Reinicie el módem" opening
    a sentence without the accent (asking the customer to do it, usted form).
    """
    if any_phrase(EXPLANATIONS, text):
        return True
    for sentence in _SENTENCE.split(text):
        sentence_words = words(sentence)
        for verb in EXPLANATION_VERBS:
            if not strict_phrase_in(verb, sentence_words):
                continue
            first = sentence.strip().split(" ", 1)[0] if sentence.strip() else ""
            imperative = (  # "-é" verbs only: the usted command of "restablecí" is "restablezca"
                verb.endswith("e")
                and sentence_words
                and sounds_the_same(verb.split()[0], sentence_words[0])
                and not _ACCENTED_PAST.search(first.casefold())
            )
            if not imperative:
                return True
    return False


# Words that carry no content of the problem: fillers, agreement, generic verbs.
_FILLERS = (
    "ok okey okay claro perfecto bien bueno vale dale barbaro genial uh ah ahh "
    "entonces asi que es son era fue no si ya pero como cuando con sin todo toda nada "
    "algo hay estas esta estoy estan tenes tiene tengo tenemos hace hacer puedo podes "
    "puede quiero queres quiere pasa pasar ahora hoy ayer vez veces desde hasta "
    "cada mas menos solo siempre nunca otra otro hola buenas buen dia tardes noches "
    "soy te le lo la mi tu yo vos usted"
)
_NOT_CONTENT = understanding.STOPWORDS | frozenset(_FILLERS.split())
# A sentence opening with these asks the customer for something: not a restatement, even
# when it reuses the customer's words ("Necesito que me digas qué modelo de impresora...").
_REQUEST_STARTS = (
    "necesito",
    "te pido",
    "le pido",
    "pasame",
    "decime",
    "contame",
    "indicame",
    "fijate",
    "proba",
    "intenta",
    "desenchufa",
    "reinicia",
    "voy a",
    "vamos a",
    "dejame",
    "permitime",
    "podrias",
    "podria",
)
_NUMBER_WORDS = {
    "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5",
    "seis": "6", "siete": "7", "ocho": "8", "nueve": "9", "diez": "10",
}  # fmt: skip


def content_keys(text: str) -> set[str]:
    """The words of `text` that carry content, as Lara reads them: synonyms folded ("mail"
    and "casilla" are "correo"), stems and sound keys ("navegás" ~ "navegar"), numbers as
    digits ("dos días" ~ "2 días"); fillers and greetings dropped."""
    keys = set()
    for word in understanding.plain_words(text):
        word = _NUMBER_WORDS.get(word, word)
        if word in _NOT_CONTENT or (len(word) < 3 and not word.isdigit()):
            continue
        keys.add(understanding.key_of(word))
    return keys


def _past_action(sentence: str) -> bool:
    """Does the sentence report what the operator did ("Revisé tu dominio y ...")?"""
    sentence_words = words(sentence)
    return any(strict_phrase_in(verb, sentence_words) for verb in EXPLANATION_VERBS)


_ACCENTED_END = re.compile(r"^[^\W\d_]{3,}[áéí](?:te|me|lo|la)?$")


_CONNECTORS = frozenset(("y", "luego", "despues", "después", "ahora", "entonces", "primero"))
# Sentences end at a stop followed by a space: "$9.900", "192.168.1.1" and "Dra." stay whole.
_STATEMENT_END = re.compile(r"[.!?;:]+(?=\s|$)|\n+")


def _voseo_command(sentence: str) -> bool:
    """Does the sentence open with a command ("Entrá a…", "Desenchufá…", "Después fijate
    si…")?"""
    opening = [w.strip(",").casefold() for w in sentence.split()]
    while opening and opening[0] in _CONNECTORS:
        opening.pop(0)
    first = opening[0] if opening else ""
    return bool(_ACCENTED_END.match(first)) or first.endswith("ate")


def restates(text: str, customer_texts: Sequence[str]) -> bool:
    """Does the operator restate, in a statement of their own words, what the customer
    wrote before ("Claro, desde la tormenta el módem quedó con la luz roja")? Seed 001's
    paraphrase needs no stock opening: a sentence counts when at least two of its content
    words (and a third of them) are the customer's, and it neither asks (a question, a
    request to do or tell something) nor reports what the operator did (an explanation)."""
    said = set().union(*(content_keys(t) for t in customer_texts)) if customer_texts else set()
    if len(said) < 2 or _past_action(text):  # a report of what was done explains
        return False
    for sentence in _STATEMENT_END.split(_QUESTION.sub(". ", text)):
        plain = normalize(sentence)
        if not plain or plain.startswith(_REQUEST_STARTS) or is_hold_request(sentence):
            continue
        if explains(sentence) or _voseo_command(sentence):
            continue
        keys = content_keys(sentence)
        shared = keys & said
        if len(shared) >= 2 and len(shared) * 3 >= len(keys):
            return True
    return False


def gratitude_count(texts: Iterable[str]) -> int:
    """How many of the customer's messages express gratitude or satisfaction."""
    return sum(1 for text in texts if any_phrase(GRATITUDE, text))


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatLine:
    author: Author
    text: str
    at: datetime


@dataclass(frozen=True)
class Criterion:
    name: str
    verdict: Verdict
    evidence: list[int] = field(default_factory=list)  # indexes into the scored lines
    detail: str | None = None


@dataclass(frozen=True)
class QualityReport:
    criteria: list[Criterion]
    score: float  # points earned / points applicable, 0..1
    satisfaction: int  # customer's expressions of gratitude

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "satisfaction": self.satisfaction,
            "criteria": [
                {
                    "name": c.name,
                    "title": CRITERION_TITLES[c.name],
                    "verdict": c.verdict,
                    "verdict_label": VERDICT_LABELS[c.verdict],
                    "evidence": c.evidence,
                    "detail": c.detail,
                }
                for c in self.criteria
            ],
        }

    def verdicts(self) -> dict[str, Verdict]:
        return {c.name: c.verdict for c in self.criteria}


# What staff read on the scorecard.
CRITERION_TITLES = {
    "saludo": "Saludo inicial",
    "parafraseo": "Parafraseo",
    "preguntas_diagnostico": "Preguntas de diagnóstico",
    "espera": "Pedido de tiempo de espera",
    "explicacion": "Explicación de la situación",
    "servicio_tecnico": "Número de servicio técnico",
    "cierre": "Cierre (¿algo más?)",
    "satisfaccion": "Satisfacción del cliente",
}
VERDICT_LABELS: dict[str, str] = {
    "met": "cumplido",
    "not_met": "no cumplido",
    "pending": "pendiente",
    "not_applicable": "no aplica",
}

CRITERIA = (
    "saludo",
    "parafraseo",
    "preguntas_diagnostico",
    "espera",
    "explicacion",
    "servicio_tecnico",
    "cierre",
    "satisfaccion",
)


@dataclass(frozen=True)
class _Chat:
    lines: list[ChatLine]
    operator: list[int]  # indexes of the lines the reviewed operator wrote
    customer: list[int]
    problem: bool  # the customer reported something broken (not only a question)
    live: bool  # still open: what has not happened yet is pending

    def still_due(self, name: str, detail: str, evidence: list[int] | None = None) -> Criterion:
        """Not done: a failure in a finished chat, pending in a live one."""
        if self.live:
            return Criterion(
                name, "pending", evidence or [], f"Todavía {detail[0].lower()}{detail[1:]}"
            )
        return Criterion(name, "not_met", evidence or [], detail)

    def matching(self, indexes: Iterable[int], phrases: Iterable[str]) -> list[int]:
        phrases = tuple(phrases)
        return [i for i in indexes if any_phrase(phrases, self.lines[i].text)]


def _operator_indexes(lines: Sequence[ChatLine]) -> list[int]:
    """The reviewed operator: the humans (agent/staff) if any wrote, else Lara."""
    humans = [i for i, line in enumerate(lines) if line.author in _OPERATORS]
    if humans:
        return humans
    return [i for i, line in enumerate(lines) if line.author == "lara"]


def _greeting(chat: _Chat) -> Criterion:
    if not chat.operator:
        if chat.live:
            return Criterion("saludo", "pending", detail="Todavía nadie respondió.")
        return Criterion("saludo", "not_applicable", detail="Nadie atendió el chat.")
    found = chat.matching(chat.operator[:2], GREETINGS)
    if found:
        return Criterion("saludo", "met", found)
    return Criterion("saludo", "not_met", chat.operator[:1], "No saludó al tomar el chat.")


_QUESTION = re.compile(r"¿[^?]*\??")


def _paraphrase(chat: _Chat) -> Criterion:
    # "¿Me decís qué luces ves?" asks; "Me decís que no da tono, ¿es así?" restates.
    found = [
        i
        for i in chat.operator
        if any_phrase(PARAPHRASES, _QUESTION.sub(" ", chat.lines[i].text))
        or restates(chat.lines[i].text, _customer_before(chat, i))
    ]
    if found:
        return Criterion("parafraseo", "met", found)
    return Criterion("parafraseo", "not_applicable", detail="Opcional: no se usó.")


def _customer_before(chat: _Chat, index: int) -> list[str]:
    return [chat.lines[i].text for i in chat.customer if i < index]


def _is_question(text: str) -> bool:
    if "?" in text or "¿" in text:
        return True
    return any(normalize(text).startswith(start) for start in DIAGNOSTIC_STARTS)


def _diagnostic_questions(chat: _Chat) -> Criterion:
    if not chat.problem:
        return Criterion("preguntas_diagnostico", "not_applicable", detail="Sin problema técnico.")
    found = [
        i
        for i in chat.operator
        if _is_question(chat.lines[i].text)
        and not any_phrase(HELP_OFFERS + CLOSING_QUESTIONS, chat.lines[i].text)
        and not is_hold_renewal(chat.lines[i].text)
    ]
    if found:
        return Criterion("preguntas_diagnostico", "met", found)
    return chat.still_due("preguntas_diagnostico", "No hizo preguntas para diagnosticar.")


def _hold(chat: _Chat) -> Criterion:
    requests = [i for i in chat.operator if is_hold_request(chat.lines[i].text)]
    if not requests:
        return Criterion("espera", "not_applicable", detail="No pidió al cliente que aguarde.")
    evidence: list[int] = []
    holding = False
    for position, i in enumerate(chat.operator):
        text = chat.lines[i].text
        if is_hold_request(text) or (holding and is_hold_renewal(text)):
            holding = True
            evidence.append(i)
            following = chat.operator[position + 1 : position + 2]
            if not following:
                continue  # the chat ends (or is still live) during the wait
            gap = (chat.lines[following[0]].at - chat.lines[i].at).total_seconds()
            if gap > _HOLD_LIMIT_SECONDS:
                minutes = round(gap / 60, 1)
                return Criterion(
                    "espera",
                    "not_met",
                    [i, following[0]],
                    f"Espera de {minutes} min sin renovar (se renueva cada ~2 min).",
                )
        else:
            holding = False
    return Criterion("espera", "met", evidence)


def _explanation(chat: _Chat) -> Criterion:
    if not chat.problem:
        return Criterion("explicacion", "not_applicable", detail="Sin problema técnico.")
    found = [i for i in chat.operator if explains(chat.lines[i].text)]
    if found:
        return Criterion("explicacion", "met", found)
    return chat.still_due("explicacion", "No explicó qué revisó ni qué encontró.")


def _ticket(chat: _Chat, ticket_numbers: tuple[str, ...]) -> Criterion:
    mentions = chat.matching(chat.operator, TICKET_MENTIONS)
    last_customer = chat.customer[-2:]
    still_broken = chat.matching(last_customer, STILL_BROKEN)
    if not (ticket_numbers or mentions or still_broken):
        detail = "Sin ticket por ahora." if chat.live else "Resuelto sin ticket."
        return Criterion("servicio_tecnico", "not_applicable", detail=detail)
    known = tuple(normalize(n) for n in ticket_numbers)
    given = [
        i
        for i in chat.operator
        if _TICKET_NUMBER.search(normalize(chat.lines[i].text))
        or any(n and n in normalize(chat.lines[i].text) for n in known)
    ]
    if given:
        return Criterion("servicio_tecnico", "met", given)
    return chat.still_due(
        "servicio_tecnico",
        "Sin solución y sin número de servicio técnico para el cliente.",
        mentions or still_broken,
    )


def _closing(chat: _Chat) -> Criterion:
    found = chat.matching(chat.operator[-4:], CLOSING_QUESTIONS)
    if found:
        return Criterion("cierre", "met", found)
    if chat.live:  # seed 001, criterion 2: no farewell is expected of a live chat
        return Criterion("cierre", "pending", detail="Chat en curso: el cierre llega al final.")
    return Criterion("cierre", "not_met", detail="No preguntó si podía ayudar en algo más.")


def _satisfaction(chat: _Chat) -> Criterion:
    found = chat.matching(chat.customer, GRATITUDE)
    if found:
        return Criterion("satisfaccion", "met", found, f"{len(found)} agradecimiento(s).")
    return Criterion("satisfaccion", "not_applicable", detail="El cliente no expresó gratitud.")


def score_chat(
    lines: list[ChatLine], *, live: bool, ticket_numbers: tuple[str, ...] = ()
) -> QualityReport:
    """Score `lines` (oldest first). `live`: the chat is still open (no farewell expected).

    `ticket_numbers`: the services generated for this conversation, if known; a chat with a
    ticket is one whose problem was not solved in the chat, so its number must be given.
    The score is met / (met + not met): pending and not applicable do not count (1.0 when
    nothing counts). Optional criteria (paraphrase, satisfaction) are credited when present
    and never count against the operator.
    """
    operator = _operator_indexes(lines)
    customer = [i for i, line in enumerate(lines) if line.author == "customer"]
    # A problem chat: the customer reports something wrong, or the operator explains what
    # they checked, found or fixed (they treated it as a problem, whatever words the customer
    # used for it).
    problem = any(any_phrase(PROBLEM_SIGNS, lines[i].text) for i in customer) or any(
        explains(lines[i].text) for i in operator
    )
    chat = _Chat(lines, operator, customer, problem, live)
    criteria = [
        _greeting(chat),
        _paraphrase(chat),
        _diagnostic_questions(chat),
        _hold(chat),
        _explanation(chat),
        _ticket(chat, ticket_numbers),
        _closing(chat),
        _satisfaction(chat),
    ]
    applicable = [c for c in criteria if c.verdict in ("met", "not_met")]
    met = sum(1 for c in applicable if c.verdict == "met")
    score = met / len(applicable) if applicable else 1.0
    satisfaction = gratitude_count(lines[i].text for i in customer)
    return QualityReport(criteria=criteria, score=round(score, 3), satisfaction=satisfaction)
