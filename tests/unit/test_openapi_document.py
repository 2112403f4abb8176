"""The OpenAPI document is valid OpenAPI with every `$ref` resolving (what swagger-parser and
code generators need); Schemathesis then checks it against the running platform
(tests/integration/test_api_fuzz.py)."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate

from contactcenter.platform import build_app
from tests.settings import isolated_settings


def _document() -> dict[str, Any]:
    app = build_app(isolated_settings(mongo_url="mongodb://127.0.0.1:1/", dev_mode=True))
    document: dict[str, Any] = app.openapi()
    return document


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_the_document_is_valid_openapi() -> None:
    validate(_document())


def test_every_reference_resolves_inside_the_document() -> None:
    document = _document()
    refs = set(_refs(document))
    assert refs, "no references at all: the error schema is not shared"
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} resolves nowhere"
            node = node[part]
    assert "$defs" not in json.dumps(document)
