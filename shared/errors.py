"""One error shape for every HTTP answer that is not a success, from every service.

Every 4xx/5xx body is `{"error": {"code", "message", "details"}}`:

- `code` is stable and machine-readable (`not_holder`, `invalid_signature`, `not_found`);
  clients branch on it, never on the message.
- `message` is Spanish, for the staff member reading the screen.
- `details` lists what the code alone does not say: the offending fields of a 422, the
  domain's own reason for a refusal.

Services raise `ApiError` subclasses (or map their domain exceptions to them with a
`Refusal` table and `refuse`); `install_error_handlers` turns those, FastAPI's validation
errors, Starlette's 404/405 for unknown routes and methods, and any unexpected exception
into that one shape. Nothing else writes an error body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger

log = get_logger("errors")


# --- the shape ----------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """One thing that went wrong: a field of the request, or the reason behind a refusal."""

    field: str | None = Field(
        None, description="Where, as `body.note` or `query.page`; absent for a refusal"
    )
    message: str = Field(description="What is wrong with it")
    type: str | None = Field(None, description="Kind of problem, e.g. `missing`, `reason`")


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine code, e.g. `not_holder`", examples=["not_found"])
    message: str = Field(
        description="Readable by staff, in Spanish", examples=["No se encontró lo pedido."]
    )
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


# --- what services raise ------------------------------------------------------------------


class ApiError(Exception):
    """An HTTP refusal in the one shape; subclasses fix the status and a default code."""

    status: int = 400
    code: str = "bad_request"
    message: str = "La solicitud no es válida."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Sequence[ErrorDetail | Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.details = [
            d if isinstance(d, ErrorDetail) else ErrorDetail.model_validate(d) for d in details
        ]
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorBody(code=self.code, message=self.message, details=self.details)
        )


class BadRequest(ApiError):
    status, code, message = 400, "bad_request", "La solicitud no es válida."


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Falta identificarse o la credencial no vale."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "Su rol no permite esta acción."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "No se encontró lo pedido."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "Este método no se admite en esta ruta."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "La acción contradice el estado actual."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "El contenido enviado es demasiado grande."


class TooManyRequests(ApiError):
    status, code, message = (
        429,
        "too_many_requests",
        "Demasiadas solicitudes: reintente en unos segundos.",
    )


class Invalid(ApiError):
    status, code, message = 422, "invalid_request", "Hay datos inválidos: revise los campos."


class Unavailable(ApiError):
    status, code, message = 503, "unavailable", "Servicio no disponible; reintente en un momento."


# --- mapping a domain's refusals ----------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """How one domain exception is answered: its HTTP kind, machine code, Spanish message."""

    kind: type[ApiError]
    code: str
    message: str


DomainError = TypeVar("DomainError", bound=Exception)


def refuse(exc: Exception, table: Mapping[type[DomainError], Refusal]) -> ApiError:
    """The `ApiError` for a domain exception: the first matching class in `table` order.

    The domain's own text (it names the holder, the tag, the conflicting state) travels as
    a `reason` detail; an exception missing from the table is a 409 `conflict`.
    """
    refusal = next(
        (r for kind, r in table.items() if isinstance(exc, kind)),
        Refusal(Conflict, "conflict", Conflict.message),
    )
    details = [ErrorDetail(message=str(exc), type="reason")] if str(exc) else []
    return refusal.kind(refusal.message, code=refusal.code, details=details)


# --- turning every failure into the shape -------------------------------------------------

_STATUS_DEFAULTS: dict[int, type[ApiError]] = {
    kind.status: kind
    for kind in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        Invalid,
        Unavailable,
    )
}

# Pydantic's English messages for the common cases, in the staff's language.
_VALIDATION_MESSAGES: dict[str, str] = {
    "missing": "Falta este dato.",
    "string_too_short": "El texto es demasiado corto.",
    "string_too_long": "El texto es demasiado largo.",
    "string_type": "Debe ser texto.",
    "string_pattern_mismatch": "El formato no es válido.",
    "int_parsing": "Debe ser un número entero.",
    "int_type": "Debe ser un número entero.",
    "float_parsing": "Debe ser un número.",
    "bool_parsing": "Debe ser verdadero o falso.",
    "greater_than_equal": "El número es demasiado chico.",
    "less_than_equal": "El número es demasiado grande.",
    "literal_error": "No es uno de los valores admitidos.",
    "enum": "No es uno de los valores admitidos.",
    "date_from_datetime_parsing": "Debe ser una fecha AAAA-MM-DD.",
    "date_parsing": "Debe ser una fecha AAAA-MM-DD.",
    "json_invalid": "El cuerpo no es JSON válido.",
    "model_attributes_type": "Se esperaba un objeto JSON.",
    "dict_type": "Se esperaba un objeto JSON.",
    "list_type": "Se esperaba una lista.",
    "extra_forbidden": "Este campo no se admite.",
}


def _validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
    details = []
    for item in exc.errors():
        kind = str(item.get("type", "value_error"))
        original = str(item.get("msg", ""))
        # A model validator's own sentence ("give an email ...") is more useful than a generic.
        message = _VALIDATION_MESSAGES.get(kind) or original.removeprefix("Value error, ")
        if kind in _VALIDATION_MESSAGES and kind not in ("missing", "json_invalid"):
            message = f"{message} ({original})"
        field = ".".join(str(part) for part in item.get("loc", ()))
        details.append(ErrorDetail(field=field or None, message=message, type=kind))
    return details


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body().model_dump(mode="json"), status_code=error.status, headers=error.headers
    )


def _from_http_exception(exc: StarletteHTTPException) -> ApiError:
    kind = _STATUS_DEFAULTS.get(exc.status_code)
    if kind is None:
        kind = type(
            "HttpError",
            (ApiError,),
            {"status": exc.status_code, "code": f"http_{exc.status_code}"},
        )
    detail = exc.detail
    if isinstance(detail, Mapping) and {"code", "message"} <= set(detail):
        return kind(str(detail["message"]), code=str(detail["code"]), headers=exc.headers)
    details = []
    # Starlette's reason phrase ("Not Found") adds nothing to the code.
    if isinstance(detail, str) and detail and detail != _reason_phrase(exc.status_code):
        details.append(ErrorDetail(message=detail, type="reason"))
    message = "No existe esa ruta." if exc.status_code == 404 else None
    return kind(message, details=details, headers=exc.headers)


def _reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _with_allow(request, error_response(exc))


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _with_allow(request, error_response(_from_http_exception(exc)))


def _with_allow(request: Request, response: JSONResponse) -> JSONResponse:
    """A 405 names in `Allow` every method the resource has, as the OpenAPI document lists
    them: Starlette would name only those of the first route whose path matched."""
    if response.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return response


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods the OpenAPI document lists for the path templates `path` matches."""
    templates = getattr(app.state, "allow_templates", None)
    if templates is None:
        templates = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            methods = {m.upper() for m in operations if m in _HTTP_METHODS}
            templates.append((re.compile(f"^{pattern}$"), methods))
        app.state.allow_templates = templates
    # The most specific templates win: `/tags/history` is not `/tags/{tag}`.
    matching = [(t.pattern.count("[^/]+"), methods) for t, methods in templates if t.match(path)]
    fewest = min((params for params, _ in matching), default=0)
    allowed = {m for params, methods in matching if params == fewest for m in methods}
    return sorted(allowed)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head"})


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(Invalid(details=_validation_details(exc)))


class InternalError(ApiError):
    status, code = 500, "internal_error"
    message = "Error interno: el equipo técnico puede verlo en los registros."


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return error_response(InternalError())


def install_error_handlers(app: FastAPI) -> None:
    """Make every error this app answers take the one shape (call once, on the app)."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)


# --- documenting it -----------------------------------------------------------------------

_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("malformed_body", "El cuerpo no es JSON ni un formulario válido."),
    401: ("unauthorized", Unauthorized.message),
    403: ("forbidden", Forbidden.message),
    404: ("not_found", NotFound.message),
    405: ("method_not_allowed", MethodNotAllowed.message),
    408: ("request_timeout", "El cuerpo de la solicitud no llegó a tiempo."),
    409: ("conflict", Conflict.message),
    413: ("payload_too_large", PayloadTooLarge.message),
    429: ("too_many_requests", TooManyRequests.message),
    422: ("invalid_request", Invalid.message),
    503: ("unavailable", Unavailable.message),
}

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed body",
    401: "Missing or invalid credentials",
    403: "The caller's role may not do this",
    404: "No such resource",
    405: "Method not allowed on this resource",
    408: "The body did not arrive within BODY_READ_TIMEOUT_SECONDS",
    409: "Contradicts the current state",
    413: "Too large",
    429: "Too many requests at once; retry after `Retry-After` seconds",
    422: "Invalid input; `details` names each field",
    503: "Temporarily unavailable; retry (see Retry-After)",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these statuses, each with the one error body."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, message = _EXAMPLES[status]
        details = (
            [{"field": "body.note", "message": "Falta este dato.", "type": "missing"}]
            if status == 422
            else []
        )
        documented[status] = {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS[status],
            "content": {
                "application/json": {
                    "example": {"error": {"code": code, "message": message, "details": details}}
                }
            },
        }
    return documented
