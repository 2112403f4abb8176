"""The AsyncAPI document is valid AsyncAPI 3.0.0 (the specification's own JSON Schema, kept in
tests/fixtures/asyncapi/) and every `$ref` in it resolves inside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from shared.asyncapi import build_asyncapi
from tests.settings import isolated_settings

SCHEMA = (
    Path(__file__).resolve().parents[1] / "fixtures" / "asyncapi" / "asyncapi-3.0.0.schema.json"
)


def _document() -> dict[str, Any]:
    document = build_asyncapi(isolated_settings(bus_namespace="demo"))
    parsed: dict[str, Any] = json.loads(json.dumps(document, default=str))  # as served
    return parsed


def _problems(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_the_document_is_valid_asyncapi_3() -> None:
    assert _problems(_document()) == []


def test_the_validator_refuses_what_asyncapi_does_not_allow() -> None:
    broken = _document()
    broken["channels"]["not-a-channel"] = {"address": 42}
    assert _problems(broken)


def test_every_reference_resolves_and_the_exchange_carries_the_namespace() -> None:
    document = _document()
    for ref in set(_refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} resolves nowhere"
            node = node[part]
    text = json.dumps(document)
    assert '"demo.contact.events"' in text
