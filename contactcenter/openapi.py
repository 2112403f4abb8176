"""The OpenAPI document says what every operation can answer, the same way for all five
services (checked by Schemathesis in tests/integration/test_api_conformance.py).

Some answers come from layers below the operations, so no router documents them itself:

- 400 for a body that is not JSON (or a form), 413 for one larger than MAX_API_BODY_BYTES
  (MAX_WEBHOOK_BYTES for webhooks), 408 for one that did not arrive in time and 503 while
  too many bodies are being read at once (`shared/http_guard.py`), on every operation that
  takes a body;
- 429 on every operation: the credential throttle (`shared/throttle.py`) answers it for any
  route once a client has presented too many bad credentials;
- `desde` / `hasta` query parameters are dates (`YYYY-MM-DD`), whichever table they filter.

Schemas that pydantic nested with their own `$defs` (a model inlined in an operation) are
moved to `components/schemas`, where the `$ref`s can resolve.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from shared.errors import responses

ERROR_SCHEMA = "#/components/schemas/ErrorResponse"
BODY_STATUSES = (400, 408, 413, 503)
EVERY_STATUS = (429,)
DATE_PARAMETERS = frozenset({"desde", "hasta"})
METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head"})


def install_complete_openapi(app: FastAPI) -> None:
    """Wrap `app.openapi` so the document it builds (once) is completed."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        complete(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            answers = operation.setdefault("responses", {})
            statuses = EVERY_STATUS + (BODY_STATUSES if "requestBody" in operation else ())
            for status in statuses:
                if str(status) not in answers:
                    answers[str(status)] = _error_answer(status)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in DATE_PARAMETERS:
                    _as_date(parameter.setdefault("schema", {}))
            _hoist_defs(operation, components)


def _error_answer(status: int) -> dict[str, Any]:
    documented = dict(responses(status)[status])
    documented.pop("model", None)
    content = documented["content"]["application/json"]
    documented["content"] = {"application/json": {**content, "schema": {"$ref": ERROR_SCHEMA}}}
    return documented


def _as_date(schema: dict[str, Any]) -> None:
    """`string` (or `string | null`) becomes a date; the server answers 422 for anything else.
    Where no pattern refuses it, an empty value means "no limit" (`?hasta=`), as documented."""
    branches = schema.get("anyOf", [schema])
    for branch in list(branches):
        if branch.get("type") == "string":
            branch["format"] = "date"
            if "pattern" not in branch and "anyOf" in schema:
                branches.append({"type": "string", "maxLength": 0})


def _hoist_defs(node: Any, components: dict[str, Any]) -> None:
    """Move every nested `$defs` to `components/schemas` and point its `$ref`s there."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            components.setdefault(name, schema)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in list(node.values()):
            _hoist_defs(value, components)
    elif isinstance(node, list):
        for item in node:
            _hoist_defs(item, components)
