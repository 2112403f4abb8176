"""Text that is not valid Unicode is the caller's mistake (422), never a server error.

JSON allows a lone surrogate escape (`"\\ud800x"`), which Python decodes into a `str` that
cannot be encoded as UTF-8. Two places then failed with a 500: FastAPI's default 422 answer,
which echoes the offending input and could not encode it, and MongoDB's BSON encoder, for
bodies read as free-form dicts. Both raise `UnicodeEncodeError` ("surrogates not allowed");
Starlette hands an exception raised by an error handler to the outer handlers too, so one
handler answers both with a 422. Any other encoding error goes to the app's handler of the
unexpected (a 500).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.errors import Invalid, error_response

NOT_UNICODE = (
    "La solicitud contiene texto que no es Unicode válido (un sustituto aislado como "
    "\\ud800): envíe texto UTF-8."
)


def is_lone_surrogate_error(exc: BaseException) -> bool:
    return isinstance(exc, UnicodeEncodeError) and "surrogate" in str(exc.reason)


async def _unicode_error(request: Request, exc: Exception) -> Response:
    if is_lone_surrogate_error(exc):
        return error_response(Invalid(NOT_UNICODE, code="not_unicode"))
    fallback = request.app.exception_handlers.get(Exception)
    if fallback is None:
        raise exc
    response: Response = await fallback(request, exc)  # the app's answer to the unexpected
    return response


def install_unicode_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(UnicodeEncodeError, _unicode_error)
