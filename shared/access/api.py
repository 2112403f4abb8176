"""HTTP API of access: sign in and out, who am I, the directory, and account management.

`POST /api/access/login` is the one open staff route (the HTTP guard throttles it like any
credential, per client address); every other route needs a bearer JWT or a session cookie
and declares its permission in `shared.auth.POLICY`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from shared import errors
from shared.access.accounts import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Access,
    BadCredentials,
    LoginLocked,
    UnknownUser,
)
from shared.access.people import AccountConflict, AccountRefused, Person
from shared.auth import User, may
from shared.logging import get_logger

log = get_logger("access.api")

BAD_CREDENTIALS = "Usuario o contraseña incorrectos."
UserId = Annotated[str, Path(min_length=1, max_length=128)]


class LoginBody(BaseModel):
    user: str = Field(min_length=1, max_length=80, description="Login name, e.g. `luis`")
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    id: str = Field(description="Login name (the user id in holders: `agent:<id>`)")
    name: str = Field(description="Display name")
    role: Literal["agent", "staff", "admin", "central"]


class SignedInOut(Me):
    csrf_token: str = Field(description="Send it back as `X-CSRF-Token` on every write")
    expires_at: datetime


class Account(Me):
    active: bool


class NewUser(BaseModel):
    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,31}\s*$",  # trimmed and lowercased
        description="Login name: a-z, 0-9, . _ -",
    )
    name: str = Field(min_length=1, max_length=120, description="Display name")
    role: Literal["agent", "staff", "admin", "central"]
    password: str | None = Field(
        None, max_length=256, description="Omit it and one is generated and returned once"
    )


class UserChange(BaseModel):
    name: str | None = Field(None, max_length=120)
    role: Literal["agent", "staff", "admin", "central"] | None = None
    active: bool | None = None


class NewPassword(BaseModel):
    password: str | None = Field(
        None, max_length=256, description="Omit it and one is generated and returned once"
    )


class AccountWithPassword(BaseModel):
    user: Account
    password: str | None = Field(
        None, description="The generated password, shown this once; null when it was given"
    )


class Revoked(BaseModel):
    user_id: str
    tokens_valid_after: datetime


class AuditEntry(BaseModel):
    at: datetime
    action: str
    user_id: str
    by: str
    source: str | None = None


def _account(person: Person) -> Account:
    return Account(id=person.id, name=person.name, role=person.role, active=person.active)


def _refused(exc: AccountRefused) -> errors.ApiError:
    details = [{"field": f"body.{exc.field}", "message": str(exc), "type": "value_error"}]
    if isinstance(exc, AccountConflict):
        return errors.Conflict(str(exc), code="account_conflict")
    return errors.Invalid(str(exc), code="invalid_account", details=details if exc.field else [])


def _unknown(user_id: str) -> errors.NotFound:
    return errors.NotFound(f"No existe el usuario {user_id}.", code="user_not_found")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_router(access: Access) -> APIRouter:
    router = APIRouter(tags=["access"], responses=errors.responses(401, 403, 422))

    def set_cookies(response: Response, cookie: str, csrf: str, max_age: int) -> None:
        secure = access.secure_cookies
        common = {"max_age": max_age, "path": "/", "secure": secure, "samesite": "strict"}
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, **common)  # type: ignore[arg-type]
        response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]

    @router.post(
        "/api/access/login",
        response_model=SignedInOut,
        summary="Sign in with user and password (sets the session cookie)",
        responses=errors.responses(401, 422, 429),
    )
    async def login(body: LoginBody, request: Request, response: Response) -> SignedInOut:
        """Sets `cc_session` (HttpOnly, SameSite=Strict, Secure unless DEV_MODE) and
        `cc_csrf`; every write authenticated by the cookie must send `X-CSRF-Token`. 401 for a
        wrong user or password (which one is never said); 429 once the same user failed
        `LOGIN_FAILURE_LIMIT` times from this address (for `LOGIN_LOCK_SECONDS`)."""
        try:
            signed = await access.login(body.user, body.password, _client(request))
        except BadCredentials:
            raise errors.Unauthorized(BAD_CREDENTIALS, code="bad_credentials") from None
        except LoginLocked as exc:
            raise errors.TooManyRequests(
                "Demasiados intentos fallidos para este usuario: espere unos minutos y "
                "vuelva a intentar.",
                code="login_locked",
                headers={"Retry-After": str(max(1, int(exc.retry_after) + 1))},
            ) from None
        set_cookies(response, signed.cookie, signed.csrf, access.settings.session_minutes * 60)
        person = signed.person
        return SignedInOut(
            id=person.id,
            name=person.name,
            role=person.role,
            csrf_token=signed.csrf,
            expires_at=signed.expires_at,
        )

    @router.post(
        "/api/access/logout",
        status_code=204,
        summary="Sign out: the session ends on the server",
    )
    async def logout(
        request: Request, response: Response, user: Annotated[User, may("access.session")]
    ) -> Response:
        """The session of the cookie is deleted (the cookie is worthless from now on, in
        every process). A bearer token is not a session: nothing to end (see revoke)."""
        session_id = getattr(request.state, "session_id", None)
        if isinstance(session_id, str):
            await access.logout(session_id, user.actor)
        answer = Response(status_code=204)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            answer.delete_cookie(name, path="/", secure=access.secure_cookies, samesite="strict")
        return answer

    @router.get("/api/me", response_model=Me, summary="Who is signed in")
    async def me(user: Annotated[User, may("access.session")]) -> Me:
        """The caller's id, display name and role (a token's user the directory does not
        know is named by their id)."""
        person = await access.directory.person(user.id)
        name = person.name if person else user.id
        return Me(id=user.id, name=name, role=user.role)

    @router.get(
        "/api/access/directory",
        response_model=list[Me],
        summary="Active users: id, name, role",
    )
    async def directory(user: Annotated[User, may("users.directory")]) -> list[Me]:
        """Whom a conversation can be handed to, and the names to show for user ids."""
        return [Me(id=p.id, name=p.name, role=p.role) for p in await access.directory.people()]

    @router.get("/api/access/users", response_model=list[Account], summary="Every user (admin)")
    async def list_users(user: Annotated[User, may("users.manage")]) -> list[Account]:
        return [_account(p) for p in await access.directory.people(only_active=False)]

    @router.post(
        "/api/access/users",
        status_code=201,
        response_model=AccountWithPassword,
        summary="Create a user (admin)",
        responses=errors.responses(409, 422),
    )
    async def create_user(
        body: NewUser, user: Annotated[User, may("users.manage")]
    ) -> AccountWithPassword:
        """Without `password`, one is generated and returned in this answer only."""
        try:
            person, generated = await access.create_user(
                user.actor, body.id, body.name, body.role, body.password
            )
        except AccountRefused as exc:
            raise _refused(exc) from None
        return AccountWithPassword(user=_account(person), password=generated)

    @router.patch(
        "/api/access/users/{user_id}",
        response_model=Account,
        summary="Rename, change the role, disable or enable a user (admin)",
        responses=errors.responses(404, 409, 422),
    )
    async def change_user(
        user_id: UserId, body: UserChange, user: Annotated[User, may("users.manage")]
    ) -> Account:
        """A new role or `active: false` ends the user's sessions and revokes their tokens.
        The last active admin cannot be disabled or demoted (422)."""
        try:
            person = await access.update_user(user, user_id, body.name, body.role, body.active)
        except UnknownUser:
            raise _unknown(user_id) from None
        except AccountRefused as exc:
            raise _refused(exc) from None
        return _account(person)

    @router.post(
        "/api/access/users/{user_id}/password",
        response_model=AccountWithPassword,
        summary="Reset a user's password (admin)",
        responses=errors.responses(404, 422),
    )
    async def reset_password(
        user_id: UserId, body: NewPassword, user: Annotated[User, may("users.manage")]
    ) -> AccountWithPassword:
        """Without `password`, one is generated and returned once. The user's sessions end
        and their tokens are revoked."""
        try:
            person, generated = await access.reset_password(user.actor, user_id, body.password)
        except UnknownUser:
            raise _unknown(user_id) from None
        except AccountRefused as exc:
            raise _refused(exc) from None
        return AccountWithPassword(user=_account(person), password=generated)

    @router.get(
        "/api/access/audit",
        response_model=list[AuditEntry],
        summary="Sign-ins, refusals and account changes, newest first (admin)",
    )
    async def audit(
        user: Annotated[User, may("users.manage")],
        user_id: Annotated[str | None, Query(alias="user", max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[AuditEntry]:
        entries = await access.audit(limit, user_id)
        return [AuditEntry.model_validate(e) for e in entries]

    @router.post(
        "/api/access/users/{user_id}/revoke",
        response_model=Revoked,
        summary="Void every token a user holds now (admin)",
    )
    async def revoke(user_id: UserId, user: Annotated[User, may("auth.revoke")]) -> Revoked:
        """Tokens issued at or before this second are refused from now on, and the user's
        sessions end, in every process; the user signs in again (a second later)."""
        after = await access.end_everything_of(user_id, user.actor)
        log.warning("tokens_revoked", user_id=user_id, by=user.actor)
        return Revoked(user_id=user_id, tokens_valid_after=after)

    return router
