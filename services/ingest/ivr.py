"""Twilio Voice requests → CallEvent, and the TwiML that answers them (pure, no I/O).

Twilio calls us at three points: the call arrives (incoming), the caller chose in the menu
(gather: `Digits` or `SpeechResult`), and status callbacks. The step comes from our own
`step` query parameter (we put it in the Gather action URL, and Twilio signs the URL) or is
inferred from the parameters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pydantic import ValidationError

from services.ingest.batch import Batch
from services.ingest.errors import InvalidPayload
from services.ingest.fields import e164, text_or_none
from shared.contracts.base import Identity
from shared.contracts.inbound import PERSON_MOTIVE, CallEvent, CallStep, ContactInfo

MENU: dict[str, str] = {
    "1": "soporte técnico",
    "2": "consulta de servicio",
    "3": "ventas",
    "4": "facturación",
    "0": PERSON_MOTIVE,
}
MENU_PROMPT = (
    "Bienvenido a ToWebs. Para soporte técnico, marque 1. "
    "Para consultas sobre su servicio, marque 2. "
    "Para adquirir el servicio, marque 3. "
    "Para facturación, marque 4. "
    "Para hablar con una persona, marque 0."
)
RETRY_PROMPT = "No entendimos su opción. " + MENU_PROMPT
PERSON_GOODBYE = "Gracias. En breve una persona de nuestro equipo se comunicará con usted."
# Spoken answers: words (accents removed, lower case) that point at a menu option.
SPEECH_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("0", ("persona", "operador", "operadora", "humano", "asesor", "agente", "cero")),
    ("1", ("soporte", "tecnico", "falla", "no funciona", "no anda", "uno")),
    ("2", ("consulta", "servicio", "dos")),
    ("3", ("venta", "ventas", "contratar", "adquirir", "comprar", "tres")),
    ("4", ("factura", "facturacion", "pago", "cobro", "cuatro")),
)
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
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def menu_option(digits: str | None, speech: str | None) -> str | None:
    """The menu key ("0".."4") the caller chose by keypad or voice, or None."""
    if digits:
        key = digits.strip().strip("#*")
        return key if key in MENU else None
    if speech:
        said = _plain(speech)
        # Earliest mention wins: "no quiero ventas, quiero soporte" is ambiguous, the first
        # keyword is as good a guess as any and stays deterministic.
        best: tuple[int, str] | None = None
        for key, words in SPEECH_WORDS:
            for word in words:
                at = said.find(word)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, key)
        return best[1] if best else None
    return None


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
    option = menu_option(digits, speech) if step == "gather" else None
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
            motive=MENU[option] if option else None,
            duration_seconds=int(duration) if duration and duration.isdigit() else None,
            prompt=said_to_caller(step, MENU[option] if option else None),
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


def _gather(action_url: str, prompt: str) -> str:
    return (
        f'<Gather input="dtmf speech" numDigits="1" timeout="6" language="{VOICE_LANGUAGE}" '
        f'action={quoteattr(action_url)} method="POST">'
        f'<Say language="{VOICE_LANGUAGE}">{escape(prompt)}</Say>'
        "</Gather>"
    )


def said_to_caller(step: CallStep, motive: str | None) -> str | None:
    """What the IVR says in answer to a step: the menu for a new call, the menu again for a
    choice it did not understand, a goodbye once chosen; nothing to a status callback.
    The one source of both the TwiML and the prompt stored with the call's conversation."""
    if step == "status":
        return None
    if step == "incoming":
        return MENU_PROMPT
    if motive is None:
        return RETRY_PROMPT
    if motive == PERSON_MOTIVE:
        return PERSON_GOODBYE
    return (
        f"Gracias. Registramos su llamada por {motive}. "
        "Un asesor se comunicará con usted a la brevedad."
    )


def twiml(event: CallEvent | None, action_url: str) -> str:
    """The TwiML answer: the menu for a new call (or a bad choice), a goodbye once chosen,
    and an empty response for status callbacks."""
    head = '<?xml version="1.0" encoding="UTF-8"?><Response>'
    if event is None:
        return head + "</Response>"
    said = said_to_caller(event.step, event.motive)
    if said is None:
        return head + "</Response>"
    if event.step == "incoming" or event.motive is None:
        return head + _gather(action_url, said) + "</Response>"
    return head + f'<Say language="{VOICE_LANGUAGE}">{escape(said)}</Say><Hangup/></Response>'


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
