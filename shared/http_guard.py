"""The HTTP guard: credentials are checked before a request body is read.

An ASGI middleware in front of every route:

- `/api/*` (the staff API) needs a valid staff JWT or the console's session cookie
  (`shared/access`), except `POST /api/consultations`, which needs the portal's
  `PORTAL_TOKEN`, and `POST /api/access/login`, where the password is the credential.
  Without it the request is refused with 401 before a byte of its body is read, so an
  anonymous client cannot make the process buffer and parse a large body. The authenticated
  user is left in the request's state for `current_user`. A write authenticated by the
  cookie (not GET/HEAD/OPTIONS) must carry the session's `X-CSRF-Token`, else 403.
- Every body is read here, before the route runs: a staff API body larger than
  `MAX_API_BODY_BYTES` (a webhook's: `MAX_WEBHOOK_BYTES`) gets 413, at once when
  Content-Length says so, else as soon as the bytes received exceed it (a missing or lying
  Content-Length changes nothing); at most that many bytes are buffered per request. A body
  must arrive whole within `BODY_READ_TIMEOUT_SECONDS` (else 408), and the bytes of bodies
  being read at once are bounded, `MAX_BODY_BYTES_IN_FLIGHT` in all and
  `MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT` per address (else 503 with Retry-After): clients
  holding half-sent bodies cannot pile up memory.
- The web chatbot's bearer token is checked here too, before its body is read.
- Every bad credential (staff JWT, session cookie, console password, portal token, web
  chatbot token, Meta verify token, webhook signature) is counted per client
  (`shared/throttle.py`); a client over the limit gets 429 for that credential. Webhooks
  check their own credentials in ingest: the guard counts their 401 (and the handshake's
  403) answers, and the sign-in's 401. A blocked client still gets in with a valid staff JWT
  or session: neither can be guessed, and an office behind one address must not be locked
  out by one stale browser tab.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import (
    CSRF_HEADER,
    CSRF_MESSAGE,
    SESSION_COOKIE,
    UNAUTHORIZED_MESSAGE,
    CsrfRefused,
    InvalidToken,
    RevocationLookup,
    SessionLookup,
    authenticate,
)
from shared.config import Settings
from shared.logging import get_logger
from shared.throttle import FailureThrottle

log = get_logger("http_guard")

PORTAL_ROUTE = ("POST", "/api/consultations")
LOGIN_ROUTE = ("POST", "/api/access/login")
_SIGNED_WEBHOOKS = frozenset({"/webhooks/whatsapp", "/webhooks/messenger", "/webhooks/ivr"})
_HANDSHAKES = frozenset({"/webhooks/whatsapp", "/webhooks/messenger"})


def credential_of(method: str, path: str) -> str | None:
    """Which credential a route takes (the metric's label), or None for open routes."""
    path = path.rstrip("/") or "/"
    if (method, path) == PORTAL_ROUTE:
        return "portal_token"
    if (method, path) == LOGIN_ROUTE:
        return "password"
    if path.startswith("/api/") or path == "/api":
        return "staff_jwt"
    if path == "/webhooks/webchat":
        return "webchat_token"
    if method == "GET" and path in _HANDSHAKES:
        return "verify_token"
    if path in _SIGNED_WEBHOOKS:
        return "signature"
    return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, wanted: str) -> str | None:
    for name, value in scope.get("headers", []):
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            key, _, found = part.strip().partition("=")
            if key == wanted and found:
                return found
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _answer(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer before the app runs, in the one error shape (shared/errors.py)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


BUSY_MESSAGE = "Hay demasiadas solicitudes en curso; reintente en un momento."
TIMEOUT_MESSAGE = "El cuerpo de la solicitud no llegó a tiempo."
WEBCHAT_REFUSED = "La firma o el token del canal no coincide: revise el secreto configurado."


class BodyBudget:
    """Bytes of request bodies being read right now, in all and per client address."""

    def __init__(self, limit: int, per_client: int) -> None:
        self.limit = limit
        self.per_client = per_client
        self.total = 0
        self.by_client: dict[str, int] = {}

    def take(self, client: str, size: int) -> bool:
        """Count `size` more bytes for `client`, unless that goes over either limit."""
        mine = self.by_client.get(client, 0)
        if self.total + size > self.limit or mine + size > self.per_client:
            return False
        self.total += size
        self.by_client[client] = mine + size
        return True

    def give_back(self, client: str, size: int) -> None:
        self.total -= size
        left = self.by_client.get(client, 0) - size
        if left > 0:
            self.by_client[client] = left
        else:
            self.by_client.pop(client, None)


class BodyBusy(Exception):
    pass


async def _read_capped(
    receive: Receive, limit: int, counted: Callable[[int], bool] = lambda n: True
) -> tuple[bytes, list[Message]]:
    """The whole body, refusing it as soon as it exceeds `limit` (or `counted` refuses a
    chunk); also the messages to replay after it (a disconnect that arrived while reading)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if not counted(len(chunk)):
            raise BodyBusy
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


class HttpGuard:
    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        revocations: RevocationLookup,
        throttle: FailureThrottle,
        sessions: SessionLookup | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.revocations = revocations
        self.throttle = throttle
        self.sessions = sessions
        self.bodies = BodyBudget(
            settings.max_body_bytes_in_flight, settings.max_body_bytes_in_flight_per_client
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        credential = credential_of(method, path)
        if credential is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        source = client[0] if client else "unknown"
        if credential in ("staff_jwt", "portal_token"):
            if not await self._authenticated(scope, send, source, credential):
                return
            await self._capped(scope, receive, send)
            return
        wait = self.throttle.retry_after(source, credential)
        if wait:
            await self._too_many(send, credential, wait)
            return
        watched = self._watching(send, source, credential, method)
        if credential == "password":
            await self._capped(scope, receive, watched)
            return
        if method == "POST" and credential == "webchat_token" and not self._webchat_token(scope):
            self.throttle.failed(source, credential)
            await _answer(send, 401, "invalid_signature", WEBCHAT_REFUSED)
            return
        if method == "POST":  # a webhook's body, bounded like the staff API's
            limit = self.settings.max_webhook_bytes
            await self._capped(scope, receive, watched, limit, "MAX_WEBHOOK_BYTES")
            return
        await self.app(scope, receive, watched)

    def _webchat_token(self, scope: Scope) -> bool:
        token = _bearer(scope)
        expected = self.settings.webchat_token.encode()
        return token is not None and hmac.compare_digest(token.encode(), expected)

    async def _authenticated(self, scope: Scope, send: Send, source: str, credential: str) -> bool:
        token = _bearer(scope)
        ok = False
        cookie = _cookie(scope, SESSION_COOKIE) if token is None else None
        if cookie is not None and credential == "staff_jwt" and self.sessions is not None:
            return await self._session(scope, send, source, cookie)
        if credential == "portal_token":
            expected = self.settings.portal_token.encode()
            ok = token is not None and hmac.compare_digest(token.encode(), expected)
        elif token is not None:
            try:
                user = await authenticate(self.settings, self.revocations, token)
            except InvalidToken as exc:
                log.info("token_refused", reason=str(exc), path=scope["path"])
            except Exception:
                # The revocation record could not be read: refuse for now, never guess.
                log.exception("revocations_unavailable")
                retry = [(b"retry-after", b"5")]
                await _answer(
                    send,
                    503,
                    "unavailable",
                    "No se pudo verificar la credencial; reintente en unos segundos.",
                    retry,
                )
                return False
            else:
                scope.setdefault("state", {})["user"] = user
                return True
        wait = self.throttle.retry_after(source, credential)
        if wait:
            await self._too_many(send, credential, wait)
            return False
        if ok:
            return True
        self.throttle.failed(source, credential)
        # Which credential was missing or wrong is no secret; why a token failed is.
        if credential == "portal_token":
            code = "invalid_portal_token"
        else:
            code = "missing_token" if token is None else "invalid_token"
        await _answer(send, 401, code, UNAUTHORIZED_MESSAGE, [(b"www-authenticate", b"Bearer")])
        return False

    async def _session(self, scope: Scope, send: Send, source: str, cookie: str) -> bool:
        """The console's session cookie: its user, and for a write its CSRF token."""
        assert self.sessions is not None
        try:
            principal = await self.sessions.session(
                cookie, scope["method"], _header(scope, CSRF_HEADER.encode())
            )
        except CsrfRefused:
            # A live session without its token: a forged cross-site write, or a stale page.
            log.info("csrf_refused", path=scope["path"])
            await _answer(send, 403, "csrf_failed", CSRF_MESSAGE)
            return False
        except InvalidToken as exc:
            log.info("session_refused", reason=str(exc), path=scope["path"])
        except Exception:
            log.exception("sessions_unavailable")
            retry = [(b"retry-after", b"5")]
            await _answer(
                send,
                503,
                "unavailable",
                "No se pudo verificar la sesión; reintente en unos segundos.",
                retry,
            )
            return False
        else:
            state = scope.setdefault("state", {})
            state["user"], state["session_id"] = principal.user, principal.session_id
            return True
        wait = self.throttle.retry_after(source, "session")
        if wait:
            await self._too_many(send, "session", wait)
            return False
        self.throttle.failed(source, "session")
        await _answer(
            send, 401, "invalid_session", UNAUTHORIZED_MESSAGE, [(b"www-authenticate", b"Bearer")]
        )
        return False

    async def _capped(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int | None = None,
        setting: str = "MAX_API_BODY_BYTES",
    ) -> None:
        limit = self.settings.max_api_body_bytes if limit is None else limit
        declared = _content_length(scope)
        too_large = f"El cuerpo de la solicitud supera {limit} bytes ({setting})."
        if declared is not None and declared > limit:
            await _answer(send, 413, "payload_too_large", too_large)
            return
        client = scope.get("client")
        source = client[0] if client else "unknown"
        taken = 0

        def counted(size: int) -> bool:
            nonlocal taken
            if not self.bodies.take(source, size):
                return False
            taken += size
            return True

        try:
            if declared and not counted(declared):  # announced: refused before reading
                raise BodyBusy
            # What Content-Length announced is counted already; a body without one is
            # counted as it arrives.
            read = _read_capped(receive, limit, (lambda n: True) if declared else counted)
            body, after = await asyncio.wait_for(read, self.settings.body_read_timeout_seconds)
        except BodyTooLarge:
            await _answer(send, 413, "payload_too_large", too_large)
            return
        except BodyBusy:
            await _answer(send, 503, "busy", BUSY_MESSAGE, [(b"retry-after", b"1")])
            return
        except TimeoutError:
            log.info("body_read_timeout", path=scope["path"])
            await _answer(
                send, 408, "request_timeout", TIMEOUT_MESSAGE, [(b"connection", b"close")]
            )
            return
        finally:
            self.bodies.give_back(source, taken)
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        pending += after

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _too_many(self, send: Send, credential: str, wait: float) -> None:
        self.throttle.throttled(credential)
        await _answer(
            send,
            429,
            "too_many_attempts",
            "Demasiados intentos fallidos desde esta dirección; reintente más tarde.",
            [(b"retry-after", str(max(1, math.ceil(wait))).encode())],
        )

    def _watching(self, send: Send, source: str, credential: str, method: str) -> Send:
        """`send`, counting the webhook's own refusal of its credential as a failure."""
        refusals = {403} if credential == "verify_token" else {401}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in refusals:
                self.throttle.failed(source, credential)
            await send(message)

        return watched


def install(
    app: Any,
    settings: Settings,
    revocations: RevocationLookup,
    sessions: SessionLookup | None = None,
) -> FailureThrottle:
    """Put the guard in front of every route of `app`; returns its throttle."""
    throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window_seconds)
    app.add_middleware(
        HttpGuard,
        settings=settings,
        revocations=revocations,
        throttle=throttle,
        sessions=sessions,
    )
    return throttle
