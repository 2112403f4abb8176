"""The rules about people, without I/O: who a user is, what a valid login name, display name
and password look like. Refusals carry the Spanish sentence staff will read."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from shared.auth import ROLES, Role

# Login names are what holders and audit trails carry (`agent:luis`): short, lowercase,
# no spaces or colons, so `<role>:<id>` always splits back into the same person.
LOGIN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
NAME_MAX = 80
PASSWORD_MIN = 10
PASSWORD_MAX = 256
# Whom a conversation may be handed to (assign, reassign, escalate to a person).
ASSIGNABLE_ROLES: tuple[Role, ...] = ("agent", "staff")
ROLE_WORDS: dict[str, str] = {
    "agent": "agente",
    "staff": "staff",
    "central": "central",
    "admin": "administración",
}


class AccountRefused(Exception):
    """An account change broke a rule; `str(exc)` is the Spanish sentence for staff."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AccountConflict(AccountRefused):
    """The change is well formed but the accounts as they stand refuse it (the id is taken,
    the last active admin would go): 409, not 422."""


@dataclass(frozen=True)
class Person:
    """A user as the rest of the platform sees them: no password, nothing secret."""

    id: str
    name: str
    role: Role
    active: bool

    @property
    def actor(self) -> str:
        """How they appear as a holder: `agent:luis`, `staff:ana`."""
        return f"{self.role}:{self.id}"


def login_name(value: str) -> str:
    user_id = (value or "").strip().lower()
    if not LOGIN_NAME.fullmatch(user_id):
        raise AccountRefused(
            "El usuario debe tener de 1 a 32 caracteres: letras minúsculas sin acentos, "
            "números, punto, guion o guion bajo, y empezar con una letra o un número.",
            "id",
        )
    return user_id


def display_name(value: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not name or len(name) > NAME_MAX:
        raise AccountRefused(
            f"El nombre es obligatorio y tiene hasta {NAME_MAX} caracteres.", "name"
        )
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AccountRefused("El nombre tiene caracteres no permitidos.", "name")
    return name


def role(value: str) -> Role:
    for known in ROLES:
        if value == known:
            return known
    raise AccountRefused("El rol debe ser agente, staff, central o administración.", "role")


def password(value: str) -> str:
    if len(value or "") < PASSWORD_MIN or len(value) > PASSWORD_MAX:
        raise AccountRefused(
            f"La contraseña debe tener entre {PASSWORD_MIN} y {PASSWORD_MAX} caracteres.",
            "password",
        )
    if not value.strip():
        raise AccountRefused("La contraseña no puede ser solo espacios.", "password")
    return value


def label(person_id: str) -> str:
    """The bare login name of `agent:luis` or `luis`."""
    return person_id.split(":", 1)[1] if ":" in person_id else person_id
