"""Secrets customers type in chats: find them, mask them, and encrypt the original.

Customers paste credentials ("usuario: juan contraseña: 123456") into chats. What leaves the
conversation store (logs, events, copies, prints) carries `mask_secrets(text)`; the stored
original is encrypted with a key from configuration and revealed only on an audited action.
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.fernet import Fernet, InvalidToken

MASK = "••••••"

_KEYWORDS = (
    r"contrase(?:ñ|n|ni)a|password|passwd|pass|clave|pin|token|c[oó]digo de seguridad|cvv|cvc"
)
# A secret keyword, an optional "es"/":"/"=", then the value up to whitespace or punctuation.
_KEYWORD_VALUE = re.compile(
    rf"(?P<key>\b(?:{_KEYWORDS})\b)(?P<sep>\s*(?:es|:|=|->)?\s*)(?P<value>[^\s,;]+)",
    re.IGNORECASE,
)
# Card-like digit runs (13-19 digits, optionally grouped by spaces or dashes).
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")


def contains_secret(text: str) -> bool:
    return bool(_KEYWORD_VALUE.search(text) or _CARD.search(text))


def mask_secrets(text: str | None) -> str | None:
    """The text with every secret value replaced by a mask; keywords stay for context."""
    if not text:
        return text
    masked = _KEYWORD_VALUE.sub(lambda m: f"{m.group('key')}{m.group('sep')}{MASK}", text)
    return _CARD.sub(MASK, masked)


class SecretBox:
    """Symmetric encryption (Fernet: AES-128-CBC + HMAC) keyed from SECRETS_KEY."""

    def __init__(self, key_material: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(key_material.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("sealed text cannot be opened with this key") from exc
