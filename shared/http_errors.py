"""Error answers the whole HTTP API shares: text that is not valid Unicode is the caller's
mistake (422), never a server error.

JSON allows a lone surrogate escape (`"\\ud800x"`), which Python decodes into a `str` that
cannot be encoded as UTF-8. Two places then failed with a 500: FastAPI's 422 answer, which
echoes the offending input and could not encode it, and MongoDB's BSON encoder, for bodies
read as free-form dicts. Here the echo is made encodable and the encoder's refusal becomes
a 422 (any other encoding error stays a real 500).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

NOT_UNICODE = (
    "the request contains text that is not valid Unicode (a lone surrogate such as "
    "\\ud800): send UTF-8 text"
)


def encodable(value: Any) -> Any:
    """The value with every lone surrogate replaced by U+FFFD, at any depth."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
        return value
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content={"detail": encodable(jsonable_encoder(exc.errors()))}
    )


async def _unicode_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, UnicodeEncodeError) and "surrogate" in str(exc.reason):
        return JSONResponse(status_code=422, content={"detail": NOT_UNICODE})
    raise exc


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(UnicodeEncodeError, _unicode_error)
