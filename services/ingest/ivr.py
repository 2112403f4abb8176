"""Twilio Voice requests → CallEvent, and the TwiML that answers them (pure, no I/O).

Twilio calls us at three points: the call arrives (incoming), the caller chose in the menu
(gather: `Digits` or `SpeechResult`), and status callbacks. The step comes from our own
`step` query parameter (we put it in the Gather action URL, and Twilio signs the URL) or is
inferred from the parameters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from pydantic import ValidationError

from services.ingest.batch import Batch
from services.ingest.errors import InvalidPayload
from services.ingest.fields import e164, text_or_none
from shared.contracts.base import Identity
from shared.contracts.inbound import PERSON_MOTIVE, CallEvent, CallStep, ContactInfo
from shared.text import fold
from shared.words import INVALID_CHOICE


@dataclass(frozen=True)
class Option:
    """One answer of a menu: the motive it gives the call and, when the IVR asks more, the
    menu it opens (the second level, whose answers give the specific motive of seed 004)."""

    motive: str
    submenu: str | None = None


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: str
    options: dict[str, Option]
    # Spoken answers: words (accents removed, lower case) that point at an option.
    speech: tuple[tuple[str, tuple[str, ...]], ...]
    motive: str | None = None  # the first-level motive a second-level menu refines

    def specific(self, option: Option) -> str:
        """The call's motive for `option`: `soporte técnico: sin conexión a internet`."""
        return f"{self.motive}: {option.motive}" if self.motive else option.motive

    @property
    def invalid(self) -> str:
        """The motive of a choice this menu does not offer: a clear word, never a blank."""
        if self.motive:
            return f"{self.motive}: {INVALID_CHOICE.lower()}"
        return INVALID_CHOICE


def _numbers(*keys: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    words = {"0": "cero", "1": "uno", "2": "dos", "3": "tres", "4": "cuatro"}
    return tuple((key, (words[key],)) for key in keys)


MAIN_MENU = Menu(
    name="main",
    prompt=(
        "Bienvenido a ToWebs. Para soporte técnico, marque 1. "
        "Para consultas sobre su servicio, marque 2. "
        "Para adquirir el servicio, marque 3. "
        "Para facturación, marque 4. "
        "Para hablar con una persona, marque 0."
    ),
    options={
        "1": Option("soporte técnico", "soporte"),
        "2": Option("consulta de servicio", "consulta"),
        "3": Option("ventas", "ventas"),
        "4": Option("facturación", "facturacion"),
        "0": Option(PERSON_MOTIVE),
    },
    speech=(
        ("0", ("persona", "operador", "operadora", "humano", "asesor", "agente", "cero")),
        ("1", ("soporte", "tecnico", "falla", "no funciona", "no anda", "uno")),
        ("2", ("consulta", "servicio", "dos")),
        ("3", ("venta", "ventas", "contratar", "adquirir", "comprar", "tres")),
        ("4", ("factura", "facturacion", "pago", "cobro", "cuatro")),
    ),
)
# The second level: each first-level option that asks more. Its texts must not name a
# purchase unless it is one (tickets reads "ventas"/"contratar" as a sales call).
SUBMENUS: tuple[Menu, ...] = (
    Menu(
        name="soporte",
        motive="soporte técnico",
        prompt=(
            "Si no tiene conexión a internet, marque 1. "
            "Si su internet anda lento o se corta, marque 2. "
            "Para problemas con el módem o el wifi, marque 3."
        ),
        options={
            "1": Option("sin conexión a internet"),
            "2": Option("internet lento o intermitente"),
            "3": Option("módem o wifi"),
        },
        speech=(
            ("1", ("sin conexion", "no tengo", "sin internet")),
            ("2", ("lento", "corta", "intermitente")),
            ("3", ("modem", "wifi", "router")),
            *_numbers("1", "2", "3"),
        ),
    ),
    Menu(
        name="consulta",
        motive="consulta de servicio",
        prompt=(
            "Para saber el estado de un servicio técnico, marque 1. "
            "Para cambiar de plan, marque 2. "
            "Para una mudanza o cambio de domicilio, marque 3."
        ),
        options={
            "1": Option("estado de un servicio técnico"),
            "2": Option("cambio de plan"),
            "3": Option("mudanza o cambio de domicilio"),
        },
        speech=(
            ("1", ("estado", "visita", "tecnico")),
            ("2", ("plan", "velocidad")),
            ("3", ("mudanza", "domicilio", "direccion")),
            *_numbers("1", "2", "3"),
        ),
    ),
    Menu(
        name="ventas",
        motive="ventas",
        prompt=(
            "Para internet en su hogar, marque 1. "
            "Para internet en su empresa, marque 2. "
            "Para televisión, marque 3."
        ),
        options={
            "1": Option("internet para el hogar"),
            "2": Option("internet para empresas"),
            "3": Option("televisión"),
        },
        speech=(
            ("1", ("hogar", "casa")),
            ("2", ("empresa", "negocio", "comercio")),
            ("3", ("television", "tele", "cable")),
            *_numbers("1", "2", "3"),
        ),
    ),
    Menu(
        name="facturacion",
        motive="facturación",
        prompt=(
            "Para consultar su factura, marque 1. "
            "Para conocer los medios de pago, marque 2. "
            "Si pagó y no se acreditó, marque 3."
        ),
        options={
            "1": Option("consulta de factura"),
            "2": Option("medios de pago"),
            "3": Option("pago no acreditado"),
        },
        speech=(
            ("1", ("factura", "consultar")),
            ("2", ("medios", "tarjeta", "como pago")),
            ("3", ("acredit", "no impact", "pague")),
            *_numbers("1", "2", "3"),
        ),
    ),
)
MENUS: dict[str, Menu] = {menu.name: menu for menu in (MAIN_MENU, *SUBMENUS)}
# First-level motives, for callers of the old single-level table (`MENU[key]`).
MENU: dict[str, str] = {key: option.motive for key, option in MAIN_MENU.options.items()}
MENU_PROMPT = MAIN_MENU.prompt
RETRY_PROMPT = "No entendimos su opción. " + MENU_PROMPT
PERSON_GOODBYE = "Gracias. En breve una persona de nuestro equipo se comunicará con usted."
SPEECH_WORDS = MAIN_MENU.speech
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
STEPS: tuple[CallStep, ...] = ("incoming", "gather", "status")
VOICE_LANGUAGE = "es-MX"


def call_key(call_sid: str, step: str, detail: str | None = None) -> str:
    return f"tw:{call_sid}:{step}" + (f":{detail}" if detail else "")


def choice_key(digits: str | None, speech: str | None) -> str:
    """What the caller answered, as part of the gather's event id.

    Each answer is its own event: a mistyped `7` then `1` on the same call are two events
    (the retry is not a duplicate of the mistake, so its motive reaches the conversation),
    while Twilio retrying the same request gives the same id (deduplicated).
    """
    if digits:
        keys = re.sub(r"[^0-9*#]", "", digits)[:16]
        if keys == digits:
            return f"d{keys}"
        return "x" + hashlib.sha256(digits.encode("utf-8", "replace")).hexdigest()[:12]
    if speech:
        return "s" + hashlib.sha256(speech.encode("utf-8", "replace")).hexdigest()[:12]
    return "none"


def _plain(text: str) -> str:
    return fold(text)


def menu_named(name: str | None) -> Menu:
    """The menu a gather answered (its action URL names it); unknown names are the main one."""
    return MENUS.get(name or MAIN_MENU.name, MAIN_MENU)


def menu_option(digits: str | None, speech: str | None, menu: Menu = MAIN_MENU) -> str | None:
    """The key of `menu` the caller chose by keypad or voice, or None."""
    if digits:
        key = digits.strip().strip("#*")
        return key if key in menu.options else None
    if speech:
        said = _plain(speech)
        # Earliest mention wins: "no quiero ventas, quiero soporte" is ambiguous, the first
        # keyword is as good a guess as any and stays deterministic.
        best: tuple[int, str] | None = None
        for key, words in menu.speech:
            for word in words:
                at = said.find(word)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, key)
        return best[1] if best else None
    return None


def chosen_motive(menu: Menu, digits: str | None, speech: str | None) -> str:
    """The call's motive after answering `menu`: the first-level one when a second level
    follows, the specific one from the second level, or the menu's "opción no válida"."""
    key = menu_option(digits, speech, menu)
    return menu.invalid if key is None else menu.specific(menu.options[key])


# Which menu the IVR asks after a gather, by the motive that gather gave: the submenu of a
# first-level choice, or the same menu again after a choice it did not understand.
NEXT_MENU: dict[str, Menu] = {menu.invalid: menu for menu in MENUS.values()} | {
    MAIN_MENU.specific(option): MENUS[option.submenu]
    for option in MAIN_MENU.options.values()
    if option.submenu
}


def infer_step(params: dict[str, str], hint: str | None) -> CallStep:
    if hint in STEPS:
        return hint  # type: ignore[return-value]
    if "Digits" in params or "SpeechResult" in params:
        return "gather"
    if (
        params.get("CallStatus") in FINAL_STATUSES
        or "CallbackSource" in params
        or "SequenceNumber" in params
        or "CallDuration" in params
    ):
        return "status"
    return "incoming"


def _caller(value: str | None, call_sid: str) -> str:
    phone = e164(value)
    if phone:
        return phone
    text = (value or "").strip()
    if not text or text.lower() in {"anonymous", "restricted", "unknown", "private"}:
        # Withheld numbers must not merge every anonymous caller into one customer.
        return f"anonymous:{call_sid}"
    return text  # client:alice, sip:...


def _city(value: str | None) -> str | None:
    text = (value or "").strip()
    return text.title() if text else None


def normalize(
    params: dict[str, str],
    received_at: datetime,
    *,
    step_hint: str | None = None,
    menu: str | None = None,
) -> Batch:
    """One CallEvent for one Twilio request. `params` are Twilio's (all strings)."""
    call_sid = (params.get("CallSid") or "").strip()
    if not call_sid:
        raise InvalidPayload("CallSid is required")
    if len(call_sid) > 64:
        raise InvalidPayload("CallSid is too long")
    step = infer_step(params, step_hint)
    digits = params.get("Digits")
    speech = text_or_none(params.get("SpeechResult"))
    motive = chosen_motive(menu_named(menu), digits, speech) if step == "gather" else None
    status = text_or_none(params.get("CallStatus"))
    occurred = received_at
    if step == "gather":
        detail: str | None = f"{(menu or 'main')[:32]}:{choice_key(digits, speech)}"
    elif step == "status":
        detail = text_or_none(params.get("SequenceNumber")) or status or "unknown"
        occurred = _rfc2822(params.get("Timestamp")) or received_at
    else:
        detail = None
    duration = params.get("CallDuration")
    try:
        event = CallEvent(
            event_id=call_key(call_sid, step, detail),
            occurred_at=occurred,
            identity=Identity(
                channel="ivr", external_id=_caller(params.get("From"), call_sid)[:256]
            ),
            contact=ContactInfo(
                name=text_or_none((params.get("CallerName") or "").strip()),
                phone=e164(params.get("From")),
            ),
            call_sid=call_sid,
            step=step,
            call_status=status,
            city=_city(params.get("FromCity")),
            digits=digits if digits else None,
            speech=speech,
            motive=motive,
            duration_seconds=int(duration) if duration and duration.isdigit() else None,
            prompt=said_to_caller(step, motive),
        )
    except ValidationError as exc:
        raise InvalidPayload("IVR request has invalid fields") from exc
    return Batch(events=[event])


def _rfc2822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


NO_INPUT_PROMPT = "No recibimos ninguna opción."
NO_INPUT_GOODBYE = (
    "No recibimos ninguna opción. Gracias por llamar a ToWebs; puede volver a llamarnos "
    "cuando lo necesite. Hasta luego."
)


def _gather(action_url: str, prompt: str) -> str:
    """Ask once; a silent caller is asked once more, then told goodbye politely. Twilio goes
    on to the next verb when a <Gather> gets no input (and posts to `action` when it does,
    leaving the rest of this document), so the re-prompt and the goodbye follow it."""

    def ask(text: str) -> str:
        return (
            f'<Gather input="dtmf speech" numDigits="1" timeout="6" language="{VOICE_LANGUAGE}" '
            f'action={quoteattr(action_url)} method="POST">'
            f'<Say language="{VOICE_LANGUAGE}">{escape(text)}</Say>'
            "</Gather>"
        )

    return (
        ask(prompt)
        + ask(f"{NO_INPUT_PROMPT} {prompt}")
        + f'<Say language="{VOICE_LANGUAGE}">{escape(NO_INPUT_GOODBYE)}</Say><Hangup/>'
    )


def said_to_caller(step: CallStep, motive: str | None) -> str | None:
    """What the IVR says in answer to a step: the main menu for a new call, the submenu after
    a first-level choice, the same menu again after a choice it did not understand, a goodbye
    once the motive is complete; nothing to a status callback. The one source of both the
    TwiML and the prompt stored with the call's conversation."""
    if step == "status":
        return None
    if step == "incoming":
        return MENU_PROMPT
    if motive is None:
        return RETRY_PROMPT
    asked = NEXT_MENU.get(motive)
    if asked is not None:
        retry = motive == asked.invalid
        return ("No entendimos su opción. " if retry else "") + asked.prompt
    if motive == PERSON_MOTIVE:
        return PERSON_GOODBYE
    return (
        f"Gracias. Registramos su llamada por {motive}. "
        "Un asesor se comunicará con usted a la brevedad."
    )


def next_menu(event: CallEvent) -> Menu | None:
    """The menu the caller is asked after this step, or None when the IVR says goodbye."""
    if event.step == "incoming":
        return MAIN_MENU
    if event.step != "gather":
        return None
    return NEXT_MENU.get(event.motive) if event.motive else MAIN_MENU


def twiml(event: CallEvent | None, action_url: str) -> str:
    """The TwiML answer: a menu (with `action_url` naming it) for a new call, a first-level
    choice or a bad choice; a goodbye once the motive is complete; empty for status
    callbacks."""
    head = '<?xml version="1.0" encoding="UTF-8"?><Response>'
    if event is None:
        return head + "</Response>"
    said = said_to_caller(event.step, event.motive)
    if said is None:
        return head + "</Response>"
    asked = next_menu(event)
    if asked is not None:
        return head + _gather(_for_menu(action_url, asked.name), said) + "</Response>"
    return head + f'<Say language="{VOICE_LANGUAGE}">{escape(said)}</Say><Hangup/></Response>'


def _for_menu(url: str, menu: str) -> str:
    """`url` with its `menu` query parameter naming `menu` (added when absent)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "menu"]
    if not parts.query and menu == MAIN_MENU.name:
        return url  # an action URL without parameters stays as given
    return urlunsplit(parts._replace(query=urlencode([*query, ("menu", menu)])))


def params_from_json(body: Any) -> dict[str, str]:
    """Twilio JSON bodies: flat object; every value becomes a string like the form would."""
    if not isinstance(body, dict):
        raise InvalidPayload("IVR JSON body must be an object")
    params: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, dict | list):
            continue
        params[str(key)] = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    return params


def action_url(path: str, menu: str = "main") -> str:
    """Where Twilio posts the caller's choice; relative, so it resolves on the public host."""
    return f"{path}?step=gather&menu={menu}"
