"""Use cases of access: sign in and out, the sessions behind the console's cookie, account
management by an admin, the first admin, and the directory of people.

Sessions: signing in issues an opaque random value (the cookie) whose SHA-256 is the session
document's `_id`, and a CSRF token kept in the same document. A cookie-authenticated request
that changes something must repeat that CSRF token in `X-CSRF-Token` (the console reads it
from the `cc_csrf` cookie, which, unlike the session cookie, scripts may read): another site
can make the browser send the cookie, never read it, so it cannot forge the header. Signing
out deletes the session document: the cookie is worthless from then on, in every process.

Failed sign-ins are counted per login name and client address: at `login_failure_limit` in a
row that pair is locked for `login_lock_seconds` (429, even with the right password), so a
guesser gets a handful of tries per lock while the user can still sign in from their own
desk. Every sign-in, refusal, lock, sign-out and account change is logged and recorded in
the `audit` collection.

Disabling a user, changing their role or resetting their password ends their sessions and
revokes their bearer tokens (`shared/revocations.py`): what they held was granted to the
person they no longer are.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.access import people
from shared.access.passwords import generated_password, hash_password, verify_password
from shared.access.people import AccountConflict, Person
from shared.access.store import AccessStore, UserExists
from shared.auth import SESSION_COOKIE as SESSION_COOKIE
from shared.auth import CsrfRefused, InvalidToken, User
from shared.config import Settings
from shared.contracts.base import utcnow
from shared.logging import get_logger
from shared.mongo import Document
from shared.revocations import Revocations

log = get_logger("access")

CSRF_COOKIE = "cc_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIRST_ADMIN = "admin"

# Bots and the system as they appear in holders and audit trails.
NON_PERSONS = {"lara": "Lara", "system": "Sistema", "customer": "Cliente"}


class BadCredentials(Exception):
    """Wrong user or password (which one is never said)."""


class LoginLocked(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"locked for {retry_after:.0f} s")
        self.retry_after = retry_after


class InvalidSession(InvalidToken):
    """The cookie names no live session (signed out, expired, ended by an admin, forged)."""


class UnknownUser(Exception):
    pass


@dataclass(frozen=True)
class SignedIn:
    person: Person
    cookie: str  # the opaque value for the session cookie; stored only as its hash
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionPrincipal:
    user: User
    session_id: str


def session_id_of(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _person(doc: Document) -> Person:
    return Person(id=doc["_id"], name=doc["name"], role=doc["role"], active=bool(doc["active"]))


class Directory:
    """Who is who, for every service: read through `shared/access`, never another service.

    `person(id)` for one user, `people()` for the active ones, and `display_names(ids)` to
    render user ids (`luis`, or holders and actors such as `agent:luis`) as display names."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    async def person(self, user_id: str) -> Person | None:
        doc = await self.store.user(user_id)
        return _person(doc) if doc else None

    async def people(self, only_active: bool = True) -> list[Person]:
        return [_person(d) for d in await self.store.all_users(only_active=only_active)]

    async def display_names(self, ids: Iterable[str]) -> dict[str, str]:
        """Every id given, mapped to a name for staff: the directory's display name, `Lara`
        and `Sistema` for the bots, else the bare login name (a token's user the directory
        does not know). `agent:luis` and `luis` both map to Luis's name."""
        wanted = [i for i in dict.fromkeys(ids) if i]
        bare = {i: people.label(i) for i in wanted}
        found = {
            d["_id"]: d["name"] for d in await self.store.users_by_id(sorted(set(bare.values())))
        }
        names: dict[str, str] = {}
        for ident in wanted:
            kind = ident.split(":", 1)[0]
            if ident in NON_PERSONS or kind == "system":
                names[ident] = NON_PERSONS.get(ident, NON_PERSONS["system"])
            else:
                names[ident] = found.get(bare[ident], bare[ident])
        return names


class Access:
    def __init__(self, settings: Settings, store: AccessStore, revocations: Revocations) -> None:
        self.settings = settings
        self.store = store
        self.revocations = revocations
        self.directory = Directory(store)

    @property
    def secure_cookies(self) -> bool:
        configured = self.settings.session_cookie_secure
        return (not self.settings.dev_mode) if configured is None else configured

    async def _audit(self, action: str, user_id: str, by: str, **detail: Any) -> None:
        log.info("access_" + action, user_id=user_id, by=by, **detail)
        await self.store.record(
            {"at": utcnow(), "action": action, "user_id": user_id, "by": by, **detail}
        )

    # --- signing in and out -----------------------------------------------------------

    async def login(self, user_id: str, password: str, source: str) -> SignedIn:
        user_id = (user_id or "").strip().lower()[: people.NAME_MAX]
        key = f"{user_id}\n{source}"
        now = utcnow()
        failures = await self.store.failures_of(key)
        locked_until = failures.get("locked_until") if failures else None
        if locked_until is not None and locked_until > now:
            await self._audit("login_locked", user_id, user_id, source=source)
            raise LoginLocked((locked_until - now).total_seconds())
        doc = await self.store.user(user_id)
        stored = doc.get("password_hash") if doc and doc.get("active") else None
        if not await verify_password(stored, password or ""):
            await self._failed(key, failures, now)
            await self._audit("login_failed", user_id, user_id, source=source)
            raise BadCredentials(user_id)
        assert doc is not None  # a None user never verifies
        await self.store.forget_failures(key)
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now + timedelta(minutes=self.settings.session_minutes)
        await self.store.insert_session(
            {
                "_id": session_id_of(cookie),
                "user_id": doc["_id"],
                "role": doc["role"],
                "csrf": csrf,
                "created_at": now,
                "expires_at": expires,
                "source": source,
            }
        )
        await self._audit("login", user_id, user_id, source=source)
        return SignedIn(_person(doc), cookie, csrf, expires)

    async def _failed(self, key: str, failures: Document | None, now: datetime) -> None:
        window = timedelta(seconds=self.settings.login_lock_seconds)
        started = failures["started"] if failures else now
        count = (failures["failures"] if failures else 0) + 1
        if now - started > window or (failures and failures.get("locked_until")):
            started, count = now, 1  # a new series after a quiet spell or an ended lock
        limit = self.settings.login_failure_limit
        locked = now + window if count >= limit else None
        await self.store.save_failures(key, count, started, locked)

    async def session(self, cookie: str, method: str, csrf_header: str | None) -> SessionPrincipal:
        """The principal of a session cookie; a write must carry the session's CSRF token."""
        session_id = session_id_of(cookie)
        doc = await self.store.session(session_id)
        if doc is None or doc["expires_at"] <= utcnow():
            raise InvalidSession("no live session")
        if method.upper() not in SAFE_METHODS and not (
            csrf_header and hmac.compare_digest(csrf_header.encode(), doc["csrf"].encode())
        ):
            raise CsrfRefused("missing or wrong X-CSRF-Token")
        return SessionPrincipal(User(id=doc["user_id"], role=doc["role"]), session_id)

    async def csrf_of(self, session_id: str) -> str | None:
        doc = await self.store.session(session_id)
        return doc["csrf"] if doc else None

    async def logout(self, session_id: str, by: str) -> None:
        ended = await self.store.delete_session(session_id)
        if ended is not None:
            await self._audit("logout", ended["user_id"], by)

    async def end_everything_of(self, user_id: str, by: str) -> datetime:
        """End the user's sessions and void their bearer tokens, in every process."""
        ended = await self.store.delete_sessions_of(user_id)
        after = await self.revocations.revoke(user_id, by)
        await self._audit("sessions_ended", user_id, by, sessions=ended)
        return after

    # --- accounts ---------------------------------------------------------------------

    async def create_user(
        self, by: str, user_id: str, name: str, role: str, password: str | None
    ) -> tuple[Person, str | None]:
        """A new active user; with no password given, one is generated and returned once."""
        user_id = people.login_name(user_id)
        person = Person(user_id, people.display_name(name), people.role(role), True)
        generated = None if password else generated_password()
        secret = people.password(password or generated or "")
        now = utcnow()
        try:
            await self.store.insert_user(
                {
                    "_id": person.id,
                    "name": person.name,
                    "role": person.role,
                    "active": True,
                    "password_hash": await hash_password(secret),
                    "created_at": now,
                    "created_by": by,
                    "updated_at": now,
                }
            )
        except UserExists as exc:
            raise AccountConflict(f"Ya existe el usuario {person.id}.", "id") from exc
        await self._audit("user_created", person.id, by, role=person.role)
        return person, generated

    async def update_user(
        self,
        by: User,
        user_id: str,
        name: str | None = None,
        role: str | None = None,
        active: bool | None = None,
    ) -> Person:
        """Rename, change the role, disable or enable. A change of role or a disable ends
        the user's sessions and tokens. Refused when it would leave no active admin."""
        current = await self.store.user(user_id)
        if current is None:
            raise UnknownUser(user_id)
        changes: Document = {}
        if name is not None:
            changes["name"] = people.display_name(name)
        if role is not None and role != current["role"]:
            changes["role"] = people.role(role)
        if active is not None and active != current["active"]:
            changes["active"] = active
        if not changes:
            return _person(current)
        losing_admin = current["role"] == "admin" and current["active"]
        losing_admin = losing_admin and (
            changes.get("role", "admin") != "admin" or changes.get("active") is False
        )
        if losing_admin and not await self._another_active_admin(user_id):
            raise AccountConflict(
                "Es la única cuenta de administración activa: cree otra antes de cambiarla."
            )
        changes["updated_at"] = utcnow()
        updated = await self.store.update_user(user_id, changes)
        if updated is None:
            raise UnknownUser(user_id)
        detail = {k: v for k, v in changes.items() if k != "updated_at"}
        await self._audit("user_updated", user_id, by.actor, **detail)
        if "role" in changes or changes.get("active") is False:
            await self.end_everything_of(user_id, by.actor)
        return _person(updated)

    async def _another_active_admin(self, user_id: str) -> bool:
        admins = [p for p in await self.directory.people() if p.role == "admin"]
        return any(p.id != user_id for p in admins)

    async def reset_password(
        self, by: str, user_id: str, password: str | None
    ) -> tuple[Person, str | None]:
        """A new password (generated and returned once when none is given); the user's
        sessions and tokens end."""
        generated = None if password else generated_password()
        secret = people.password(password or generated or "")
        updated = await self.store.update_user(
            user_id, {"password_hash": await hash_password(secret), "updated_at": utcnow()}
        )
        if updated is None:
            raise UnknownUser(user_id)
        await self._audit("password_reset", user_id, by)
        await self.end_everything_of(user_id, by)
        return _person(updated), generated

    async def ensure_first_admin(self) -> str | None:
        """With no active admin at all, make `admin` one with a new password and return that
        password (to be shown once); None when there is an admin already."""
        if await self.store.any_active_admin():
            return None
        if await self.store.user(FIRST_ADMIN) is None:
            _, generated = await self.create_user(
                "system:first-run", FIRST_ADMIN, "Administración", "admin", None
            )
            return generated
        generated = generated_password()
        await self.store.update_user(
            FIRST_ADMIN,
            {
                "role": "admin",
                "active": True,
                "password_hash": await hash_password(generated),
                "updated_at": utcnow(),
            },
        )
        await self._audit("first_admin_restored", FIRST_ADMIN, "system:first-run")
        return generated

    async def audit(self, limit: int, user_id: str | None = None) -> list[Document]:
        return await self.store.audit_entries(limit, user_id)
