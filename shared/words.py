"""The words staff read: one Spanish display word for every code the platform stores.

Every place that shows a stored code to a person (the tables' screen JSON, their Copy and
their Print, the console through the tables' catalogue) renders it here, so the screen, the
clipboard and the paper can never disagree. Codes stay codes in storage and on the bus;
nothing shown to staff is a code, an English word or `null`.

Dates are rendered here too, in the business time zone (`Settings.tz`) as dd/mm/aaaa HH:MM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

# --- statuses of conversations, calls, consultations and technical services ------------------

STATUS_WORDS: dict[str, str] = {
    "abierta": "ABIERTA",
    "cerrada": "CERRADA",
    "genero_servicio_tecnico": "GENERÓ SERVICIO TÉCNICO",
    "respondida": "RESPONDIDA",
    "pendiente": "PENDIENTE",
    "confirmado": "CONFIRMADO",
    "cancelado": "CANCELADO",
}

# --- channels -------------------------------------------------------------------------------

CHANNEL_WORDS: dict[str, str] = {
    "whatsapp": "WhatsApp",
    "messenger": "Facebook",
    "webchat": "Web",
    "ivr": "Teléfono",
}

# --- Twilio's call states, in Spanish -------------------------------------------------------

NO_CALL_STATE = "sin estado"
CALL_STATE_WORDS: dict[str, str] = {
    "queued": "En cola",
    "initiated": "Iniciada",
    "ringing": "Sonando",
    "in-progress": "En curso",
    "completed": "Completada",
    "busy": "Ocupado",
    "failed": "Fallida",
    "no-answer": "Sin respuesta",
    "canceled": "Cancelada",
    NO_CALL_STATE: "Sin estado",
}

# --- who wrote or acted: bots, the customer, the platform -----------------------------------

BOT_WORDS: dict[str, str] = {
    "lara": "Lara",
    "system:ivr": "Bot de llamadas",
    "system:webchat-bot": "Bot web",
    "system:csat": "Encuesta de satisfacción",
    "system": "Sistema",
    "customer": "Cliente",
}
IN_QUEUE = "En cola"
ROLE_SUFFIX: dict[str, str] = {"agent": "agente", "central": "central", "admin": "administración"}

# --- the IVR ----------------------------------------------------------------------------------

# A call's motive when the caller chose nothing the menu offers (never a blank cell).
INVALID_CHOICE = "Opción no válida"
NO_MOTIVE = "Sin motivo"


def status_word(status: str | None) -> str:
    """`genero_servicio_tecnico` → `GENERÓ SERVICIO TÉCNICO`; an unknown code in capitals."""
    if not status:
        return ""
    return STATUS_WORDS.get(status, status.replace("_", " ").upper())


def channel_word(channel: str | None) -> str:
    if not channel:
        return ""
    return CHANNEL_WORDS.get(channel, channel.capitalize())


def call_state_word(state: str | None) -> str:
    """Twilio's `completed` → `Completada`; no state yet → `Sin estado`."""
    return CALL_STATE_WORDS.get(state or NO_CALL_STATE, CALL_STATE_WORDS[NO_CALL_STATE])


def _readable(user: str) -> str:
    """`luis.perez` → `Luis Perez`: a user id when the directory does not name it."""
    return " ".join(part[:1].upper() + part[1:] for part in re.split(r"[._\s-]+", user) if part)


def person_name(actor: str | None, directory: Mapping[str, str] | None = None) -> str:
    """An actor id as a person reads it: the one renderer of people and bots.

    `directory` maps a user id (`ana`) or an actor (`staff:ana`) to its display name (the
    users directory of `shared.access`, when the caller has one); without an entry the id
    is made readable: `staff:ana` → `Ana`, `agent:luis.perez` → `Luis Perez (agente)`; either
    way an agent carries the role, as the console shows it (`Luis Pérez (agente)`).
    Bots by name: `lara` → `Lara`, `system:ivr` → `Bot de llamadas`; nobody → `En cola`.
    """
    if not actor:
        return IN_QUEUE
    if actor in BOT_WORDS:
        return BOT_WORDS[actor]
    kind, sep, user = actor.partition(":")
    named = (directory or {}).get(actor) or ((directory or {}).get(user) if sep else None)
    if not sep or not user:
        return named or _readable(actor)
    name = named or _readable(user)
    suffix = ROLE_SUFFIX.get(kind)
    return f"{name} ({suffix})" if suffix else name


# --- dates ----------------------------------------------------------------------------------


def date_time_text(moment: datetime | None, tz: ZoneInfo) -> str:
    """`07/12/2026 09:34`: the moment in the business time zone, day first."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local.day:02d}/{local.month:02d}/{local.year:04d} {local.hour:02d}:{local.minute:02d}"


def zone_word(zone: str) -> str:
    """`America/Argentina/Buenos_Aires` → `hora de Buenos Aires`: the zone as people say it."""
    return "hora de " + zone.rsplit("/", 1)[-1].replace("_", " ")


def date_text(day: date | None) -> str:
    """`07/12/2026`."""
    return "" if day is None else f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def catalogue_words() -> dict[str, dict[str, str]]:
    """Every display word by family, for clients that show codes they receive (the console)."""
    return {
        "statuses": dict(STATUS_WORDS),
        "channels": dict(CHANNEL_WORDS),
        "call_states": dict(CALL_STATE_WORDS),
        "bots": dict(BOT_WORDS),
    }
