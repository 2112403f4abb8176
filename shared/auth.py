"""Staff authentication and the one role table of the platform.

Tokens are HS256 bearer JWTs carrying the user id (`sub`), the `role`, and numeric `iat` and
`exp`. Validation pins the algorithm list to HS256 (so `alg=none` and algorithm-confusion
tokens are refused), requires the four claims, refuses a lifetime longer than
`MAX_TOKEN_MINUTES` whoever signed it, and refuses tokens a user's revocation made stale
(`tokens_valid_after`, see `shared/revocations.py`). Every refusal answers the same generic
401: the caller learns nothing about which check failed; the reason goes to the log.

`POLICY` says, for each resource and action, which roles may do it. Every endpoint declares
its permission with `Allowed("<action>")`, and the README's role table is rendered from
`POLICY` (`role_table_markdown`), so the behaviour and the documentation cannot disagree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.config import Settings, get_settings
from shared.contracts.base import utcnow
from shared.errors import Forbidden, Unauthorized
from shared.logging import get_logger

Role = Literal["agent", "staff", "admin", "central"]
ROLES: tuple[Role, ...] = ("agent", "staff", "admin", "central")
ALGORITHM = "HS256"
UNAUTHORIZED_MESSAGE = "Falta la credencial o no es válida: inicie sesión de nuevo."

log = get_logger("auth")

# --- Who may do what ---------------------------------------------------------------------

ANY_ROLE: tuple[Role, ...] = ROLES
PEOPLE_WHO_SERVE: tuple[Role, ...] = ("agent", "staff", "admin")
OFFICE: tuple[Role, ...] = ("staff", "admin")

POLICY: dict[str, tuple[tuple[Role, ...], str]] = {
    # Conversations (routing). Holder rules on top of these live in services/routing/domain.
    "conversations.read": (
        ANY_ROLE,
        "list, stream (with unread counts), view, audit trail, quality review, presence",
    ),
    "conversations.act": (
        PEOPLE_WHO_SERVE,
        "escalate, return, finish, note, reply, seen, reveal (holder rules apply)",
    ),
    "conversations.assign": (OFFICE, "take (Tomar), assign and reassign with a note"),
    # Quick replies (routing): everyone who answers keeps their own and uses the team's.
    "quick_replies.use": (
        PEOPLE_WHO_SERVE,
        "list the team's and one's own quick replies; create, edit, delete one's own",
    ),
    "quick_replies.team": (OFFICE, "create, edit and delete the team's quick replies"),
    # Customers: one policy for every read of a customer's data, the audited export included.
    "customers.read": (
        ANY_ROLE,
        "search, profile, suggestions, tag history, comments, cases, audit, export (audited)",
    ),
    "customers.update": (PEOPLE_WHO_SERVE, "edit a profile"),
    "customers.tag": (PEOPLE_WHO_SERVE, "add or remove a tag with its evidence"),
    "customers.comment": (
        PEOPLE_WHO_SERVE,
        "comment on the customer or on a case; cancel a case (deletes its comments)",
    ),
    "customers.merge": (PEOPLE_WHO_SERVE, "merge two customers' identities, undo a merge"),
    "customers.block": (OFFICE, "block or unblock an identity"),
    "customers.anonymize": (OFFICE, "erase a customer's personal data"),
    "customers.configure": (("admin",), "define tags and extra profile fields"),
    # Technical services and the sales-calls table (tickets).
    "services.read": (ANY_ROLE, "list and view technical services; table servicios"),
    "services.create": (PEOPLE_WHO_SERVE, "create a technical service"),
    "services.confirm": (("admin", "central"), "confirm a technical service"),
    "services.cancel": (("staff", "admin", "central"), "cancel a pending technical service"),
    # Consultations from the portal: one policy for the API and the consultas table.
    "consultations.read": (
        OFFICE,
        "GET /api/consultations and table consultas (JSON, Copy, Print)",
    ),
    "consultations.handle": (OFFICE, "answer, close, turn into a technical service"),
    # Tables whose rows come from conversations (chats, IVR calls, sales calls).
    "tables.conversations": (
        ANY_ROLE,
        "tables chats, llamadas, llamadas_ventas (JSON, Copy, Print)",
    ),
    # Reports for supervisors (exports): agents read only their own row of `personas`.
    "reports.own": (PEOPLE_WHO_SERVE, "report personas (agents: only their own row)"),
    "reports.read": (OFFICE, "every report: personas, canales, horas, lara, servicios"),
    # Access itself (shared/access).
    "access.session": (ANY_ROLE, "GET /api/me, sign out"),
    "users.directory": (ANY_ROLE, "directory of active users (id, name, role)"),
    "users.manage": (
        ("admin",),
        "create users, rename, change a role, disable, reset a password; the access audit",
    ),
    "auth.revoke": (("admin",), "revoke every token a user holds and end their sessions"),
}


def roles_for(action: str) -> tuple[Role, ...]:
    return POLICY[action][0]


def role_table_markdown() -> str:
    """The README's "Who may do what" table, rendered from `POLICY`."""
    lines = ["| permission | " + " | ".join(ROLES) + " | covers |", "|---" * (len(ROLES) + 2) + "|"]
    for action, (roles, covers) in POLICY.items():
        marks = " | ".join("✔" if r in roles else "" for r in ROLES)
        lines.append(f"| `{action}` | {marks} | {covers} |")
    return "\n".join(lines)


# --- Users and tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    role: Role

    @property
    def actor(self) -> str:
        """How the user appears as a holder or in an audit trail, with the real role:
        `staff:ana`, `agent:luis`, `admin:root`, `central:oficina`."""
        return f"{self.role}:{self.id}"


def issue_token(settings: Settings, user_id: str, role: Role, minutes: int | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    lifetime = minutes or settings.access_token_minutes
    if lifetime > settings.max_token_minutes:
        raise ValueError(
            f"a token may live at most {settings.max_token_minutes} minutes (MAX_TOKEN_MINUTES)"
        )
    now = utcnow()
    claims = {
        "sub": user_id,
        "role": role,
        "iat": now,
        "exp": now + timedelta(minutes=lifetime),
    }
    return jwt.encode(claims, settings.auth_secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    """Why a token was refused: for the log only, never for the caller."""


@dataclass(frozen=True)
class Claims:
    user: User
    issued_at: float


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    # bool is an int in Python; a JSON true is no time.
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidToken(f"claim {name!r} is not a number")
    return float(value)


def decode_token(settings: Settings, token: str) -> Claims:
    """The verified claims of a token; `InvalidToken` with the reason otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "role"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    issued, expires = _number(claims, "iat"), _number(claims, "exp")
    if expires - issued > settings.max_token_minutes * 60:
        raise InvalidToken("lifetime longer than MAX_TOKEN_MINUTES")
    if issued > time.time() + 60:
        raise InvalidToken("issued in the future")
    role = claims.get("role")
    sub = claims.get("sub")
    if role not in ROLES or not isinstance(sub, str) or not sub.strip():
        raise InvalidToken("token carries no valid user or role")
    return Claims(User(id=sub, role=role), issued)


class RevocationLookup(Protocol):
    async def valid_after(self, user_id: str) -> float | None: ...


class CsrfRefused(Exception):
    """A write authenticated by the session cookie without the session's CSRF token."""


CSRF_MESSAGE = "La solicitud no trae la protección de la sesión (X-CSRF-Token): recargue la página."


class SessionPrincipalLike(Protocol):
    @property
    def user(self) -> User: ...
    @property
    def session_id(self) -> str: ...


class SessionLookup(Protocol):
    """Console sessions (shared/access): the principal of a session cookie. Raises
    `InvalidToken` (no live session) or `CsrfRefused` (a write without its CSRF token)."""

    async def session(
        self, cookie: str, method: str, csrf_header: str | None
    ) -> SessionPrincipalLike: ...


SESSION_COOKIE = "cc_session"
CSRF_HEADER = "x-csrf-token"


def csrf_refused() -> Forbidden:
    return Forbidden(CSRF_MESSAGE, code="csrf_failed")


async def authenticate(settings: Settings, revocations: RevocationLookup, token: str) -> User:
    """The user of a valid, unrevoked token; `InvalidToken` otherwise."""
    claims = decode_token(settings, token)
    cutoff = await revocations.valid_after(claims.user.id)
    if cutoff is not None and claims.issued_at <= cutoff:
        raise InvalidToken("token issued before the user's tokens were revoked")
    return claims.user


def unauthorized() -> Unauthorized:
    """One answer for every refused credential: the reason goes to the log only."""
    return Unauthorized(
        UNAUTHORIZED_MESSAGE, code="invalid_token", headers={"WWW-Authenticate": "Bearer"}
    )


# --- FastAPI dependencies ----------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False)


def settings_dependency(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


class _NoRevocations:
    async def valid_after(self, user_id: str) -> float | None:
        return None


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller, from a bearer JWT or the console's session cookie (the same principal
    either way). The HTTP guard (shared/http_guard.py) has usually authenticated the
    request before its body was read and left the user in the request's state."""
    known = getattr(request.state, "user", None)
    if isinstance(known, User):
        return known
    cookie = request.cookies.get(SESSION_COOKIE)
    sessions: SessionLookup | None = getattr(request.app.state, "sessions", None)
    if credentials is None and cookie and sessions is not None:
        try:
            principal = await sessions.session(
                cookie, request.method, request.headers.get(CSRF_HEADER)
            )
        except CsrfRefused as exc:
            raise csrf_refused() from exc
        except InvalidToken as exc:
            log.info("session_refused", reason=str(exc))
            raise unauthorized() from exc
        request.state.session_id = principal.session_id
        return principal.user
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized()
    revocations = getattr(request.app.state, "revocations", None) or _NoRevocations()
    try:
        return await authenticate(
            settings_dependency(request), revocations, credentials.credentials
        )
    except InvalidToken as exc:
        log.info("token_refused", reason=str(exc))
        raise unauthorized() from exc


async def credential_still_valid(request: Request) -> bool:
    """Whether the request's credential (bearer token or session cookie) is still good now.

    A long-lived response (the live feed) asks this now and then, so that a revoked user, a
    disabled account or a signed-out session stops receiving within seconds, not when the
    connection would have ended anyway."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() == "bearer" and token.strip():
            revocations = getattr(request.app.state, "revocations", None) or _NoRevocations()
            await authenticate(settings_dependency(request), revocations, token.strip())
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        sessions: SessionLookup | None = getattr(request.app.state, "sessions", None)
        if cookie and sessions is not None:
            await sessions.session(cookie, "GET", None)
            return True
    except InvalidToken:
        return False
    return False


class Allowed:
    """Dependency: the caller's role may do `action` of `POLICY` (403 otherwise)."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.roles = roles_for(action)

    def __call__(self, user: Annotated[User, Depends(current_user)]) -> User:
        ensure_allowed(user, self.action)
        return user


def ensure_allowed(user: User, action: str) -> None:
    roles = roles_for(action)
    if user.role not in roles:
        raise Forbidden(
            f"Su rol ({user.role}) no permite esta acción; hace falta: {', '.join(roles)}.",
            code="role_not_allowed",
            details=[{"message": action, "type": "action"}],
        )


def require_role(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold one of `roles` (403 otherwise). Prefer
    `Allowed(<action>)`, which reads the role table."""

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(
                f"Su rol ({user.role}) no permite esta acción; hace falta: {', '.join(roles)}.",
                code="role_not_allowed",
            )
        return user

    return dependency


def may(action: str) -> Any:
    """`user: Annotated[User, may("customers.tag")]` in a route's signature."""
    return Depends(Allowed(action))


CurrentUser = Annotated[User, Depends(current_user)]
# Kept so that branches written before the role table still import; a route using them is
# reported by tests/integration/security/test_roles.py until it names its `may(<action>)`.
AnyStaff = Annotated[User, Depends(require_role(*ROLES))]
StaffUser = Annotated[User, Depends(require_role("staff", "admin"))]
AdminUser = Annotated[User, Depends(require_role("admin"))]
