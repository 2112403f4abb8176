"""Staff authentication: HS256 bearer JWTs carrying the user id and role.

Validation pins the algorithm list to HS256, so `alg=none` and algorithm-confusion tokens
are refused, and requires `exp`, `sub` and `role`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.config import Settings, get_settings
from shared.contracts.base import utcnow
from shared.errors import Forbidden, Unauthorized

Role = Literal["agent", "staff", "admin", "central"]
ROLES: tuple[Role, ...] = ("agent", "staff", "admin", "central")
ALGORITHM = "HS256"


@dataclass(frozen=True)
class User:
    id: str
    role: Role

    @property
    def actor(self) -> str:
        """How the user appears as a holder or in an audit trail: `staff:ana`, `agent:luis`."""
        kind = "agent" if self.role == "agent" else "staff"
        return f"{kind}:{self.id}"


def issue_token(settings: Settings, user_id: str, role: Role, minutes: int | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    now = utcnow()
    claims = {
        "sub": user_id,
        "role": role,
        "iat": now,
        "exp": now + timedelta(minutes=minutes or settings.access_token_minutes),
    }
    return jwt.encode(claims, settings.auth_secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


def decode_token(settings: Settings, token: str) -> User:
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    role = claims.get("role")
    sub = claims.get("sub")
    if role not in ROLES or not isinstance(sub, str) or not sub:
        raise InvalidToken("token carries no valid user or role")
    return User(id=sub, role=role)


_bearer = HTTPBearer(auto_error=False)


def settings_dependency(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Falta el token: envíe Authorization: Bearer <token> (contactcenter token).",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return decode_token(settings_dependency(request), credentials.credentials)
    except InvalidToken as exc:
        raise Unauthorized(
            "El token no es válido o venció: pida uno nuevo con el mismo AUTH_SECRET.",
            code="invalid_token",
            details=[{"message": str(exc), "type": "reason"}],
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


def require_role(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold one of `roles` (403 otherwise)."""

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(
                f"Su rol ({user.role}) no permite esta acción; hace falta: {', '.join(roles)}.",
                code="role_not_allowed",
            )
        return user

    return dependency


CurrentUser = Annotated[User, Depends(current_user)]
StaffUser = Annotated[User, Depends(require_role("staff", "admin"))]
AdminUser = Annotated[User, Depends(require_role("admin"))]
AnyStaff = Annotated[User, Depends(require_role("agent", "staff", "admin", "central"))]
