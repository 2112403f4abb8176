"""Secrets customers type in chats: find them, mask them, and seal the original.

Customers paste credentials the way they speak: "la contraseña es Rio2024!", "mi clave sería
Tango#55", "pin: 4821", "token que me llegó por SMS: 839201", "La clave del wifi es Casa2024",
"usuario y contraseña: vsanchez Rio2024". What leaves the place the original is kept (the bus,
stored messages, events, copies, prints, logs) carries `mask_secrets(text)`: the credential
VALUE replaced by `MASK`, the rest of the sentence untouched so staff still read what the
customer meant. The original travels and rests only sealed (`SecretBox`, keyed by SECRETS_KEY)
and is opened by Lara, the quality review and the holder's audited reveal.

How a value is found (`secret_spans`), on the folded text (`shared.text.fold`: NFKD, accents,
case, zero-width characters gone) with positions mapped back to the original:

1. a keyword: contraseña, clave, password, pass, pin, token, cvv, credenciales, datos de
   acceso, and código unless it is a code that is no secret (postal, de cliente, de área...);
2. then, within the same clause (up to `MAX_FILLERS` words, never past `. ; ! ? ,`, "y",
   "pero"..., nor past another subject such as "mi número"), either
   - a separator (`:`, `=`, `->`) or a copula (es, era, sería, son, fue, quedó...): the next
     word is the value unless it is an ordinary word ("mi clave es incorrecta", "la
     contraseña es la de siempre"), or
   - a word that looks like a credential (letters and digits, 4 to 7 digits, letters with
     symbols): "la clave Casa2024", "token 839201";
3. dates, times, amounts, years, phone and document numbers (grouped digits), e-mail
   addresses and web addresses are never values when nothing announced them.

Card numbers (13 to 19 digits, optionally grouped) are masked when they pass the Luhn check.
Usernames are not secrets: staff need them to find the account ("el usuario es vsanchez"
stays readable). Every pattern is bounded and the scan after a keyword stops after a fixed
number of words, so the cost is linear in the text (no catastrophic backtracking).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import overload

from cryptography.fernet import Fernet, InvalidToken

from shared.text import fold_with_positions, original_span

MASK = "••••••"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# How many words may stand between a keyword and its separator or value:
# "token [que me llegó por SMS]: 839201", "la clave [del wifi de casa] es Casa2024".
MAX_FILLERS = 8

# --- keywords (folded spelling) -------------------------------------------------------------

_KEYWORD = re.compile(
    r"(?<![a-z0-9])(?:"
    r"contrase(?:n|ni)as?|contracenas?|password|passwd|pass|pwd|psw|pw|claves?|pins?|nip"
    r"|tokens?|otp|puk|credenciales|datos\s{1,3}de\s{1,3}(?:acceso|ingreso|login)"
    r"|(?P<short>cvv2?|cvc|(?P<code>codigo|cod\.?))"
    r"|(?P<slang>contra(?=\s{0,3}(?::|=|->|(?:es|era|seria)(?![a-z]))))"
    r")(?![a-z0-9])"
)
# "código" alone is often no secret: postal code, customer number, area code, error code.
_PUBLIC_CODE = _words(
    "postal cp area cliente clientes socio abonado barras qr error pago pedido orden "
    "seguimiento producto factura referencia descuento promo promocional operacion gestion "
    "reclamo tramite servicio plan equipo transferencia modelo articulo ticket caso "
    "interno postales falla fallas averia incidente"
)

# --- the words between a keyword and its value ----------------------------------------------

_COPULAS = _words(
    "es era seria sera sea son eran fue fueron queda quedo quedaria quedaron siendo is was"
)
# Words that close the keyword's clause: what follows speaks of something else.
_CONJUNCTIONS = _words("y e o u ni pero aunque porque sino mientras y/o")
# A new subject ("mi número es ...") also closes it, unless it qualifies the keyword
# ("la clave de mi mail es ...").
_OTHER_SUBJECTS = _words(
    "numero nro tel telefono cel celu celular movil whatsapp wsp dni documento cuit cuil "
    "mail correo email direccion domicilio nombre apellido usuario user username monto "
    "importe deuda saldo fecha cumpleanos cbu alias"
)
_QUALIFIER_LINKS = _words("de del para por al a en con desde")
# Words after which a number identifies something else: "cliente 4455667", "reclamo 12345678".
_IDENTIFIER_NOUNS = _OTHER_SUBJECTS | _words(
    "cliente reclamo cuenta factura contrato pedido orden servicio socio abonado caso"
)
# Words that name what follows: "el modelo AX3000", "la versión 3.2", "el plan 300MB".
_NAMING_NOUNS = _words("modelo version plan app android ios windows firmware")
_DETERMINERS = _words("mi mis tu tus su sus el la los las un una este esta ese esa")

# Words that follow "es" / ":" without being a value: "mi clave es incorrecta".
_ORDINARY = _words("""
    a al ante aca aqui alla ahi algo alguna alguno asi aun aunque bastante bien cada casi
    como con conmigo contra cual cuales cualquier cualquiera cuando cuanto de del desde donde
    el ella ello en entre esa ese eso esta este esto estas estos hasta hay la las le les lo
    los mal mas me mi mia mio mis mismo misma muy nada ni no nos nunca o otra otro para pero
    poco por porque que quien re sabes se segun si sin sobre solo su sus super tal tambien
    tampoco tan te ti toda todo todavia tu tus tuya tuyo un una uno unos unas ya yo siempre
    demasiado igual distinta distinto diferente nueva nuevo vieja viejo larga largo corta corto
    facil dificil complicada complicado rara raro segura seguro insegura inseguro debil fuerte
    correcta correcto incorrecta incorrecto invalida invalido valida valido erronea erroneo
    equivocada equivocado obligatoria obligatorio necesaria necesario personal privada privado
    secreta secreto temporal provisoria provisorio otras otros ambas ambos misma mismas
    siguiente anterior actual vigente nula nulo vacia vacio importante urgente clave ok okay
    obvio obvia esa esas esos cierta cierto verdad mentira exacto exacta exactamente numerica
    numerico alfanumerica alfanumerico unica unico general generica generico automatica
    automatico larguisima cortita sencilla sencillo rapido rapida lenta lento caso tema punto
    problema error algo nueve dos tres cuatro cinco seis siete ocho diez cero
    """)
_ORDINARY_SUFFIXES = (
    "ado", "ada", "ados", "adas", "ido", "ida", "idos", "idas", "ando", "iendo",
    "mente", "ble", "bles", "cion", "sion",
)  # fmt: skip
_UNIT_WORDS = _words(
    "digito digitos numero numeros caracter caracteres letra letras veces vez intento "
    "intentos minuto minutos hora horas dia dias mes meses ano anos cifras"
)

# --- shapes that are never secrets when nothing announced them ------------------------------

_NOT_A_VALUE = re.compile(
    r"""^(?:
        [^@\s]{1,64}@[^@\s]{1,255}\.[a-z]{2,}              # e-mail address
      | (?:https?://|www\.)\S{0,2000}                        # web address
      | [a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,5}\.(?:com|net|org|ar|gob|edu|io|app|info)
        (?:\.[a-z]{2})?(?:/\S{0,2000})?                      # domain, towebs.com/mi-cuenta
      | \d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?                   # date 12/05, 12-05-2024
      | \d{1,2}[:.h]\d{2}(?:hs?|am|pm)?                      # time 10:30, 10.30hs
      | \d{1,2}(?:hs?|am|pm)                                 # 10hs, 9am
      | (?:\$|usd|ars|u\$s|us\$)\d[\d.,]{0,20}               # amount $1.500
      | \d[\d.,]{0,20}(?:\$|%|usd|ars|pesos|dolares)         # 1500$, 15%
      | \d{1,3}(?:\.\d{3}){1,6}(?:,\d{1,2})?                 # 30.123.456, 12.500,50
      | \d{1,3}(?:,\d{3}){1,6}(?:\.\d{1,2})?                 # 12,500.50
      | \d+(?:[.,]\d+)?(?:ro|ra|do|da|er|to|ta|vo|va|no|na|mo|ma|°|º|a|o|mb|gb|kb|tb|mbps
        |gbps|ghz|mhz|g|k|km|m|mts|cm|kg|gr|x|min|mins|seg|hrs|dias|meses|anos|pulgadas)
      | (?:19|20)\d{2}                                       # a year
      | \+?\d[\d\s().-]{7,24}                                # phone or document, grouped
    )$""",
    re.VERBOSE,
)
# After "es" / ":" only an unmistakable address is no value: an e-mail, a URL, or a domain
# of words ("towebs.com/mi-cuenta"); "jm.2021.ar" is a password.
_PUBLIC_ADDRESS = re.compile(
    r"^(?:[^@\s]{1,64}@[^@\s]{1,255}\.[a-z]{2,}|(?:https?://|www\.)\S{0,2000}"
    r"|[a-z-]{1,63}(?:\.[a-z-]{1,63}){0,5}\.(?:com|net|org|ar|gob|edu|io|app|info)"
    r"(?:\.[a-z]{2})?(?:/\S{0,2000})?)$"
)
_REFERENCE = re.compile(r"[a-z]{1,4}-\d{3,12}(?:-\d{1,12})?")  # ST-000123, E-504
_GROUP = re.compile(r"\d{1,4}")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_STREET_WORDS = _words(
    "av avda avenida calle altura al piso depto dpto departamento nro n° ruta km cp lote "
    "manzana mz barrio local oficina casa torre"
)
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_SYMBOL = re.compile(r"[!@#$%&*_+=\\|~^<>¡¿?]")

# Card numbers as they are written: 13 to 19 digits together, or 4-4-4-4(-n), or Amex 4-6-5;
# cards start with 2 to 6 (phones and CBUs start otherwise or are grouped otherwise).
_CARD = re.compile(
    r"(?<![\d+])(?:[2-6]\d{12,18}|[2-6]\d{3}(?:([ -])\d{4})(?:\1\d{4}){2}(?:\1\d{1,3})?"
    r"|3\d{3}([ -])\d{6}\2\d{5})(?![\d-])"
)

# Tokens: separators on their own; a word glued to a separator ("es:", "pin:1234") is split.
_RUN = re.compile(r"\S+")
_SEPARATOR = re.compile(r"[\"'”»]?(?:->|=>|→|[:=])+")
_TRAILING_SEPARATOR = re.compile(r"(?:->|=>|→|[:=])+$")
_WORD_BEFORE_SEPARATOR = re.compile(r"[a-z]{1,30}(?=[\"'”»]?(?:->|=>|→|[:=]))")
_OPEN_QUOTES = "\"'“«‘"
_CLOSE_QUOTES = {'"': '"', "'": "'", "“": "”", "«": "»", "‘": "’"}
_LEADING = "¿¡(["
_TRAILING_CLAUSE_END = ".,;!?…"
_TRAILING_OTHER = ")]}\"'”»’"
MAX_QUOTED = 64
# Past a comma or a conjunction, how many more words may lead to a credential-shaped word.
WEAK_TAIL = 6


@dataclass(frozen=True)
class _Token:
    start: int  # in the folded text
    end: int
    separator: bool = False


def _tokens(folded: str, start: int) -> list[_Token]:
    """The tokens after a keyword, enough for the bounded scan (a few times MAX_FILLERS)."""
    out: list[_Token] = []
    for run in _RUN.finditer(folded, start):
        pos, end = run.start(), run.end()
        while pos < end:
            sep = _SEPARATOR.match(folded, pos, end)
            if sep:
                out.append(_Token(pos, sep.end(), separator=True))
                pos = sep.end()
                continue
            word = _WORD_BEFORE_SEPARATOR.match(folded, pos, end)
            if word and word.end() < end:
                out.append(_Token(pos, word.end()))
                pos = word.end()
                continue
            # `contraseña?":` is a word, then a separator.
            tail = _TRAILING_SEPARATOR.search(folded, pos, end)
            if tail and tail.start() > pos:
                out.append(_Token(pos, tail.start()))
                out.append(_Token(tail.start(), end, separator=True))
            else:
                out.append(_Token(pos, end))
            pos = end
        if len(out) > 3 * MAX_FILLERS:
            break
    return out


def _core(word: str) -> str:
    return word.lstrip(_LEADING + _OPEN_QUOTES).rstrip(_TRAILING_CLAUSE_END + _TRAILING_OTHER)


def _trailing(word: str) -> str:
    return word[len(word.rstrip(_TRAILING_CLAUSE_END + _TRAILING_OTHER)) :]


def _ordinary(core: str) -> bool:
    """A word of the sentence, not a credential: stop words, adjectives, participles."""
    if core in _ORDINARY or core in _UNIT_WORDS or core in _COPULAS:
        return True
    return core.isalpha() and core.isascii() and core.endswith(_ORDINARY_SUFFIXES)


def _looks_like_credential(core: str, min_digits: int) -> bool:
    """Without a separator or a copula, only a word shaped like a credential is a value:
    letters with digits, letters with symbols, or a short run of digits (a PIN, a token)."""
    if core.isdigit() and min_digits <= len(core) <= 8 and not _YEAR.fullmatch(core):
        return True
    if _NOT_A_VALUE.match(core) or _REFERENCE.fullmatch(core):
        return False
    has_letter = bool(_LETTER.search(core))
    if has_letter and _DIGIT.search(core):
        return True
    return has_letter and len(core) >= 4 and bool(_SYMBOL.search(core))


@dataclass(frozen=True)
class _Keyword:
    end: int  # where the keyword ends in the folded text
    min_digits: int  # a CVV has 3 digits, a PIN or a token 4 or more


class _Scan:
    """The bounded walk from one keyword to the end of its clause.

    Three states: reading the words between the keyword and its value ("del wifi",
    "que me llegó por SMS"), expecting the value right after a separator or a copula, and
    a weak tail after a comma or a conjunction ("..., la del cajero 7788", "y con Mate4321")
    where only a word shaped like a credential is taken and copulas mean nothing.
    """

    def __init__(self, text: str, folded: str, positions: list[int]) -> None:
        self.text = text
        self.folded = folded
        self.positions = positions
        self.question = "¿" in text

    def original(self, token: _Token) -> str:
        a, b = original_span(self.text, self.positions, token.start, token.end)
        return self.text[a:b]

    def value_span(self, token: _Token) -> tuple[int, int] | None:
        """The folded span to mask for a value: the word without the sentence's punctuation
        (a closing `?` stays only when the sentence opened with `¿`)."""
        word = self.folded[token.start : token.end]
        start = token.start + (len(word) - len(word.lstrip(_LEADING)))
        trimmed = word.rstrip(".,;…" + ("?" if self.question else ""))
        end = token.start + len(trimmed)
        return (start, end) if end > start else None

    def quoted_span(self, token: _Token) -> tuple[int, int] | None:
        """For `"hola mundo"`: the text between the quotes (the quotes stay)."""
        opening = self.folded[token.start]
        if opening not in _CLOSE_QUOTES:
            return None
        limit = min(len(self.folded), token.start + 2 + MAX_QUOTED)
        closing = self.folded.find(_CLOSE_QUOTES[opening], token.start + 1, limit)
        if closing <= token.start + 1:
            return None
        return token.start + 1, closing

    def _word(self, tokens: list[_Token], i: int) -> str:
        if i >= len(tokens) or tokens[i].separator:
            return ""
        return _core(self.folded[tokens[i].start : tokens[i].end])

    def _named_or_address(
        self, core: str, previous: list[str], tokens: list[_Token], i: int
    ) -> bool:
        """A street number, an identifier or a name, not a credential: "sucursal de
        Corrientes 1234", "Av. Rivadavia 4521", "cliente 4455667", "el modelo AX3000"."""
        if previous and previous[-1] in _NAMING_NOUNS:
            return True
        if not core.isdigit() or not previous:
            return False
        if previous[-1] in _STREET_WORDS or previous[-1] in _IDENTIFIER_NOUNS:
            return True
        before = self.original(tokens[i - 1]) if i >= 1 and not tokens[i - 1].separator else ""
        titled = before[:1].isupper() and before[1:].islower() and len(before) >= 3
        return titled and len(previous) >= 2 and previous[-2] in _STREET_WORDS | {"de", "en"}

    def run(self, keyword: _Keyword) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        tokens = _tokens(self.folded, keyword.end)
        expecting = False  # a separator or a copula was just read
        weak = False  # past a comma or a conjunction
        budget = MAX_FILLERS
        previous: list[str] = []
        since_copula = MAX_FILLERS  # words read since the last copula ("es mi nombre")
        i = -1
        skip_until = -1
        if self._asked_and_answered(tokens, keyword):
            # "mi clave? Rio2032": a bare `?` glued to the keyword, no `¿` anywhere: the very
            # next word is the value if it looks like one ("mi clave? no la sé" stays).
            i, weak, budget = 0, True, 0
        while i + 1 < len(tokens):
            i += 1
            token = tokens[i]
            if token.start < skip_until:
                continue
            if token.separator:
                expecting = expecting or not weak
                continue
            word = self.folded[token.start : token.end]
            core = _core(word)
            quoted = self.quoted_span(token)
            if quoted is not None and (expecting or _DIGIT.search(self.folded[slice(*quoted)])):
                found.append(quoted)
                expecting = False
                skip_until = quoted[1] + 1
                continue
            since_copula += 1
            if expecting:
                expecting = False
                if (
                    core
                    and not _ordinary(core)
                    and not self._public_after_copula(core, self._word(tokens, i + 1))
                ):
                    i, token, word = self._digit_groups(tokens, i)
                    i, token, word = self._number_after_word(tokens, i, token, word)
                    span = self.value_span(token)
                    if span is not None:
                        found.append(span)
                    if any(c in ".;!?" for c in _trailing(word)):
                        break
                    weak = weak or "," in _trailing(word)
                    previous.append(core)
                    continue
            if _KEYWORD.fullmatch(core):
                break  # the next keyword's own scan takes it from here
            if core in _CONJUNCTIONS:
                if weak:
                    break
                weak, budget = True, min(budget, WEAK_TAIL)
                previous.append(core)
                continue
            if core in _OTHER_SUBJECTS and not _qualifies(previous) and since_copula > 2:
                break
            immediate = not previous
            if core in _COPULAS and not weak:
                expecting, since_copula = True, 0
            elif immediate and core.isdigit() and self._spaced_digits(tokens, i, keyword):
                # "PIN 1 2 3 4": a number typed digit by digit right after its keyword.
                i, token, word = self._digit_groups(tokens, i)
                span = self.value_span(token)
                if span is not None:
                    found.append(span)
            elif (immediate and core.isdigit() and keyword.min_digits <= len(core) <= 12) or (
                _looks_like_credential(core, keyword.min_digits)
                and not self._named_or_address(core, previous, tokens, i)
            ):
                i, token, word = self._digit_groups(tokens, i)
                span = self.value_span(token)
                if span is not None:
                    found.append(span)
            else:
                budget -= 1
                if budget < 0:
                    break
            tail = _trailing(word)
            if any(c in ".;!?…" for c in tail):
                break
            if "," in tail:
                if weak:
                    break
                weak, budget, expecting = True, min(budget, WEAK_TAIL), False
            previous.append(core)
        return found

    def _digit_groups(self, tokens: list[_Token], i: int) -> tuple[int, _Token, str]:
        """A numeric value typed in groups ("551 902", "4 5 6 7") is one value: extend the
        token over the following groups of up to four digits, one space apart."""
        token = tokens[i]
        numeric = self.folded[token.start : token.end].isdigit()
        while (
            numeric
            and i + 1 < len(tokens)
            and tokens[i + 1].start == token.end + 1
            and _GROUP.fullmatch(_core(self.folded[tokens[i + 1].start : tokens[i + 1].end]))
        ):
            i += 1
            token = _Token(token.start, tokens[i].end)
        return i, token, self.folded[token.start : token.end]

    def _asked_and_answered(self, tokens: list[_Token], keyword: _Keyword) -> bool:
        first = tokens[0] if tokens else None
        return (
            first is not None
            and not self.question
            and first.start == keyword.end
            and self.folded[first.start : first.end] == "?"
        )

    def _spaced_digits(self, tokens: list[_Token], i: int, keyword: _Keyword) -> bool:
        _, token, word = self._digit_groups(tokens, i)
        digits = sum(ch.isdigit() for ch in word)
        return token.end > tokens[i].end and keyword.min_digits <= digits <= 12

    def _number_after_word(
        self, tokens: list[_Token], i: int, token: _Token, word: str
    ) -> tuple[int, _Token, str]:
        """ "mi clave es Hornero 2024": a word value followed, one space apart, by a number of
        up to 6 digits is one value typed with a space (a year alone is never a value, but
        here it is half of one)."""
        if word.isdigit() or _trailing(word) or i + 1 >= len(tokens):
            return i, token, word
        following = tokens[i + 1]
        digits = self.folded[following.start : following.end].rstrip(_TRAILING_CLAUSE_END)
        if following.separator or following.start != token.end + 1:
            return i, token, word
        if not (digits.isdigit() and len(digits) <= 6) or self._word(tokens, i + 2) in _UNIT_WORDS:
            return i, token, word  # "Casa 2 veces": a count, not the value's second half
        joined = _Token(token.start, following.end)
        return i + 1, joined, self.folded[joined.start : joined.end]

    @staticmethod
    def _public_after_copula(core: str, next_word: str) -> bool:
        """After "es": an e-mail or web address, or a count ("6 dígitos"), is no value."""
        if core.isdigit() and len(core) <= 3 and next_word in _UNIT_WORDS:
            return True
        return bool(_PUBLIC_ADDRESS.match(core))


def _qualifies(previous: list[str]) -> bool:
    """ "la clave de mi mail": the noun qualifies the keyword instead of opening a new subject."""
    before = previous[-2:]
    if before and before[-1] in _QUALIFIER_LINKS:
        return True
    return len(before) == 2 and before[-1] in _DETERMINERS and before[0] in _QUALIFIER_LINKS


def _public_code(folded: str, end: int) -> bool:
    """ "código postal", "código de cliente", "el código de área": not a credential."""
    words = [_core(w) for w in folded[end : end + 60].split()[:3]]
    return any(w in _PUBLIC_CODE for w in words)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Where the credential values are in `text` (original positions), sorted, merged."""
    folded, positions = fold_with_positions(text)
    scan = _Scan(text, folded, positions)
    spans: list[tuple[int, int]] = []
    for match in _KEYWORD.finditer(folded):
        if match.group("code") and _public_code(folded, match.end()):
            continue
        short = match.group("short") is not None
        keyword = _Keyword(end=match.end(), min_digits=3 if short else 4)
        for start, end in scan.run(keyword):
            spans.append(original_span(text, positions, start, end))
    for card in _CARD.finditer(folded):
        digits = re.sub(r"\D", "", card.group())
        if _luhn(digits):
            spans.append(original_span(text, positions, card.start(), card.end()))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@overload
def mask_secrets(text: str) -> str: ...
@overload
def mask_secrets(text: None) -> None: ...
@overload
def mask_secrets(text: str | None) -> str | None: ...


def mask_secrets(text: str | None) -> str | None:
    """The text with every credential value replaced by `MASK`; the keywords and the rest of
    the sentence stay, so the reader knows a password was given without reading it.
    Masking a masked chat line changes nothing (checked over the whole corpus); on garbled
    input with stray quotes a second pass may mask more, never less."""
    if not text:
        return text
    pieces: list[str] = []
    last = 0
    for start, end in secret_spans(text):
        pieces.append(text[last:start])
        pieces.append(MASK)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def contains_secret(text: str | None) -> bool:
    """True when `text` holds a credential still readable (a masked text holds none)."""
    return bool(text) and mask_secrets(text) != text


class SecretBox:
    """Symmetric encryption (Fernet: AES-128-CBC + HMAC-SHA256) keyed from SECRETS_KEY.

    Sealed text is opaque and tamper-evident: `open` fails with ValueError for a token made
    with another key or altered on the way.
    """

    def __init__(self, key_material: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(key_material.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        # surrogatepass: a lone surrogate a channel let through round-trips instead of
        # failing the whole webhook.
        return self._fernet.encrypt(text.encode("utf-8", "surrogatepass")).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode("utf-8", "surrogatepass")
        except (InvalidToken, UnicodeError) as exc:
            raise ValueError("sealed text cannot be opened with this key") from exc

    @overload
    def mask(self, text: str) -> tuple[str, str | None]: ...
    @overload
    def mask(self, text: None) -> tuple[None, None]: ...
    @overload
    def mask(self, text: str | None) -> tuple[str | None, str | None]: ...

    def mask(self, text: str | None) -> tuple[str | None, str | None]:
        """(masked text, sealed original): the sealed original only when masking changed
        something, so a text without secrets carries no ciphertext."""
        masked = mask_secrets(text)
        if text is None or masked == text:
            return text, None
        return masked, self.seal(text)
