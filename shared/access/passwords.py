"""Password hashing with Argon2id (argon2-cffi, its RFC 9106 low-memory profile).

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a worker thread: the
event loop keeps serving while a sign-in is checked. A user unknown to the directory is
checked against a fixed dummy hash, so a wrong user name takes as long as a wrong password
and the timing does not tell which names exist.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored` (None: an unknown user, always False)."""
    return await asyncio.to_thread(_verify, stored, password)


def generated_password() -> str:
    """A password for a new or reset account, told once to whoever created it."""
    return secrets.token_urlsafe(12)
