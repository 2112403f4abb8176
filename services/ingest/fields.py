"""Small conversions every channel needs: phone numbers to E.164, channel clocks to UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from services.ingest.errors import InvalidPayload

_DIGITS = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[\s().\-]")


def e164(phone: Any) -> str | None:
    """`+<digits>` for a phone number in any common notation, or None when it is not one.

    WhatsApp sends digits without '+', Twilio sends E.164, people type spaces and dashes.
    """
    if not isinstance(phone, str | int) or isinstance(phone, bool):
        return None
    text = _SEPARATORS.sub("", str(phone).strip())
    if text.startswith("00"):
        text = text[2:]
    text = text.removeprefix("+")
    if not _DIGITS.fullmatch(text) or not 7 <= len(text) <= 15:
        return None
    return f"+{text}"


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """A UTC datetime from epoch seconds (WhatsApp: a string) or milliseconds (Messenger)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if millis:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def text_or_none(value: Any) -> str | None:
    """The value when it is a non-empty string; channels send "", null or numbers freely."""
    if isinstance(value, str) and value != "":
        return value
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def meta_entries(body: Any, expected_object: str, channel: str) -> list[Any]:
    """The `entry[]` list of a Meta webhook (WhatsApp or Messenger), after checking the
    envelope: a JSON object whose `object`, when present, is the one this endpoint serves."""
    if not isinstance(body, dict):
        raise InvalidPayload(f"{channel} webhook must be a JSON object")
    obj = body.get("object")
    if obj is not None and obj != expected_object:
        raise InvalidPayload(f"unexpected object {obj!r}; expected {expected_object!r}")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise InvalidPayload("'entry' must be a list")
    return entries
