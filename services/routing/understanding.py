"""How Lara reads Spanish as customers write it (pure, no I/O, no model).

A message goes through one pipeline, and so does every keyword Lara knows, so both meet
on the same ground:

1. `normalize`: Unicode NFKC, zero-width characters dropped, lower case, accents removed,
   a letter repeated three times or more kept once ("lentaaa" -> "lenta"), punctuation
   turned into spaces; a web address ("miempresa.com.ar") also yields the word "dominio".
2. chat shorthand expanded ("q" -> "que", "xq" -> "porque", "celu" -> "celular") and
   synonyms folded into one word ("router", "aparato" -> "modem"; "mail", "casilla" ->
   "correo"; "boleta" -> "factura"; "clave", "password" -> "contrasena"; "luces" -> "luz");
3. articles and other empty words dropped (never "no", "sin", "ya", "con", "que");
4. each word reduced to a light stem (plural, gender, diminutive, superlative and the
   usual verb endings: "reinicie", "reinicio", "reiniciar" -> "reinici"; "lentisima" ->
   "lent") and then to a Spanish sound key ("v"/"b", "ll"/"y", "z"/"s", soft "c", silent
   "h", "qu"/"k"), so "kiero" is "quiero" and "ola" is "hola".

A keyword is a pattern of such keys: `a b` is a phrase (contiguous after step 3),
`x y|z` alternative phrases, `p & q` parts that must all occur anywhere in the message, `=word` a
word as written (after step 2, no stemming: "=corta" is not "corto"); `2:` in front sets
the keyword's weight (by default, the number of words it needs). A written word also
matches a keyword key one typo away when both keys have at least six letters, share the
first letter and the written word is not a common word of its own (weekdays, months):
"velocidaz" is "velocidad", "lunes" is never "luces".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from shared.text import fold

_NOT_WORD = re.compile(r"[^a-z0-9ñ]+")
_REPEATED = re.compile(r"([a-zñ])\1{2,}")
# A domain written in the message: "tiendadonpepe.com", "lapanaderia.com.ar".
_DOMAIN = re.compile(r"\b[\w-]+\.(?:com|net|org|ar|info|shop|store)(?:\.ar)?\b")

SHORTHAND: dict[str, str] = {
    "q": "que",
    "k": "que",
    "ke": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "x": "por",
    "d": "de",
    "tb": "tambien",
    "tmb": "tambien",
    "xfa": "por favor",
    "porfa": "por favor",
    "pf": "por favor",
    "celu": "celular",
    "cel": "celular",
    "wsp": "whatsapp",
    "wpp": "whatsapp",
    "mb": "megas",
    "mbps": "megas",
    "mega": "megas",
    "hs": "horas",
    "hrs": "horas",
    "msj": "mensaje",
    "info": "informacion",
    "tel": "telefono",
    "mercadopago": "mercado pago",
    "pagofacil": "pago facil",
    "homebanking": "home banking",
    "speedtest": "test velocidad",
    "nameservers": "dns",
    "nameserver": "dns",
    "ns": "dns",
    "wi": "wifi",  # "wi-fi" splits into "wi" "fi"
    "fi": "",
}

# One word for things customers call by many names.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        ("router", "routers", "modem", "modems", "aparato", "equipo", "modén", "moden"), "modem"
    ),
    **dict.fromkeys(
        (
            "mail",
            "mails",
            "email",
            "emails",
            "correo",
            "correos",
            "casilla",
            "casillas",
            "gmail",
            "hotmail",
        ),
        "correo",
    ),
    **dict.fromkeys(("boleta", "boletas", "factura", "facturas"), "factura"),
    **dict.fromkeys(
        ("clave", "claves", "password", "pass", "contrasena", "contrasenas", "contraseña"),
        "contrasena",
    ),
    **dict.fromkeys(
        ("luz", "luces", "lucecita", "lucecitas", "lucesita", "lucesitas", "foco", "focos"),
        "luz",
    ),
    **dict.fromkeys(("conexion", "coneccion", "conección"), "internet"),
    **dict.fromkeys(("humano", "humana", "umano"), "humano"),
    **dict.fromkeys(("web", "pagina", "sitio", "wordpress"), "sitio"),
}


def _listed(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(
    _listed(
        "el la los las lo un una unos unas de del al y e o u a en por para mi mis tu tus su sus "
        "me te se le les nos re muy tan este esta esto estos estas ese esa eso esos esas ahi "
        "che bueno ok dale"
    )
)

# Common words that must not be read as a typo of a keyword ("lunes" is not "luces").
COMMON_WORDS = frozenset(
    _listed(
        "lunes martes miercoles jueves viernes sabado domingo enero febrero marzo abril mayo "
        "junio julio agosto septiembre setiembre octubre noviembre diciembre manana tarde noche "
        "semana mes meses ano anos hoy ayer casa trabajo vecino vecinos"
    )
)

_SUFFIXES = tuple(
    sorted(
        _listed(
            "isimos isimas isimo isima itos itas ito ita cito cita ciones cion aron ieron "
            "ando iendo ados adas ado ada idos idas ido ida amos emos imos aste iste aba "
            "aban ar er ir as es is an en o a e s"
        ),
        key=len,
        reverse=True,
    )
)
_SOUNDS = (("ch", "0"), ("qu", "k"), ("ll", "y"), ("h", ""), ("v", "b"), ("z", "s"), ("ñ", "n"))
_SOFT_C = re.compile(r"c(?=[ei])")


def normalize(text: str) -> str:
    """Lower case, no accents, no zero-width characters, letters repeated 3+ times once,
    punctuation as spaces: "¿Está CAÍDOOO?" -> "esta caido"."""
    plain = _REPEATED.sub(r"\1", fold(text))
    return _NOT_WORD.sub(" ", plain).strip()


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """A light Spanish stem: the first suffix that leaves at least four letters is cut."""
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=16384)
def sound(word: str) -> str:
    """Letters that sound alike in Spanish become one ("kiero" = "quiero")."""
    key = _SOFT_C.sub("s", word)
    for written, spoken in _SOUNDS:
        key = key.replace(written, spoken)
    return key.replace("c", "k")


@lru_cache(maxsize=16384)
def key_of(word: str) -> str:
    return sound(stem(word))


def plain_words(text: str) -> list[str]:
    """Normalized words with shorthand expanded and synonyms folded (stopwords kept)."""
    out: list[str] = []
    for word in normalize(text).split():
        expanded = SHORTHAND.get(word, word)
        for part in expanded.split():
            out.append(SYNONYMS.get(part, part))
    if _DOMAIN.search(text.casefold()):
        out.append("dominio")
    return out


def _edit_distance_is_one(a: str, b: str) -> bool:
    """Exactly one insertion, deletion, substitution or swap of neighbours apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@dataclass
class Message:
    """A message as Lara reads it: keys in order, plus the words as written."""

    text: str
    normalized: str
    written: list[str]  # after shorthand and synonyms, stopwords kept
    keys: list[str]  # sound keys of the stems, stopwords dropped
    raw_content: list[str]  # the written words matching `keys`, position by position
    positions: dict[str, list[int]] = field(default_factory=dict)


class Vocabulary:
    """Every key some pattern uses, so a written word can be matched to them by typo."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self._typo_cache: dict[str, tuple[str, ...]] = {}

    def add(self, key: str) -> None:
        if key not in self.keys:
            self.keys.add(key)
            self._typo_cache.clear()

    def near(self, written: str, key: str) -> tuple[str, ...]:
        """Known keys one typo away from `key` (see the module docstring for the guards)."""
        if key in self._typo_cache:
            return self._typo_cache[key]
        found: tuple[str, ...] = ()
        if len(key) >= 6 and written not in COMMON_WORDS and not written.isdigit():
            found = tuple(
                k
                for k in self.keys
                if len(k) >= 6 and k[0] == key[0] and _edit_distance_is_one(k, key)
            )
        self._typo_cache[key] = found
        return found


def read(text: str, vocabulary: Vocabulary) -> Message:
    written = plain_words(text)
    keys: list[str] = []
    raw: list[str] = []
    for word in written:
        if word and word not in STOPWORDS:
            keys.append(key_of(word))
            raw.append(word)
    message = Message(text, normalize(text), written, keys, raw)
    for position, (key, word) in enumerate(zip(keys, raw, strict=True)):
        message.positions.setdefault(key, []).append(position)
        message.positions.setdefault("=" + word, []).append(position)
        if key not in vocabulary.keys:
            for near in vocabulary.near(word, key):
                message.positions.setdefault(near, []).append(position)
    return message


Phrase = tuple[str, ...]  # keys (or "=word") that must follow each other
Part = tuple[Phrase, ...]  # alternative phrases; one of them must occur


@dataclass(frozen=True)
class Pattern:
    """A compiled keyword; `weight` is how many words it needs (a longer match says more)."""

    source: str
    parts: tuple[Part, ...]
    weight: int

    def matches(self, message: Message) -> bool:
        return all(any(_phrase_at(phrase, message) for phrase in part) for part in self.parts)


def _phrase_at(phrase: Phrase, message: Message) -> bool:
    positions = message.positions
    for start in positions.get(phrase[0], ()):
        if all(
            start + offset in positions.get(key, ()) for offset, key in enumerate(phrase[1:], 1)
        ):
            return True
    return False


def _compile_phrase(source: str) -> Phrase:
    phrase: list[str] = []
    for token in source.split():
        if token.startswith("="):
            phrase.extend("=" + w for w in plain_words(token[1:]) if w)
        else:
            phrase.extend(key_of(w) for w in plain_words(token) if w and w not in STOPWORDS)
    return tuple(phrase)


_WEIGHT = re.compile(r"^(\d+):")


def compile_pattern(source: str, vocabulary: Vocabulary) -> Pattern:
    """Compile a keyword; "2:velocidad" gives a one-word keyword the weight of two."""
    declared = _WEIGHT.match(source)
    body = source[declared.end() :] if declared else source
    parts: list[Part] = []
    weight = 0
    for part_source in body.split("&"):
        part = tuple(p for p in (_compile_phrase(a) for a in part_source.split("|")) if p)
        if not part:
            continue
        parts.append(part)
        weight += min(len(p) for p in part)
        for phrase in part:
            for key in phrase:
                if not key.startswith("="):
                    vocabulary.add(key)
    return Pattern(source, tuple(parts), int(declared.group(1)) if declared else weight)


def compile_patterns(sources: Iterable[str], vocabulary: Vocabulary) -> tuple[Pattern, ...]:
    return tuple(compile_pattern(s, vocabulary) for s in sources)


def best_weight(patterns: Iterable[Pattern], message: Message) -> int:
    return max((p.weight for p in patterns if p.matches(message)), default=0)


def total_weight(patterns: Iterable[Pattern], message: Message) -> int:
    return sum(p.weight for p in patterns if p.matches(message))


def has_words(text: str) -> bool:
    """Letters or digits: a 👍 or a sticker has none."""
    return any(ch.isalnum() for ch in text)
