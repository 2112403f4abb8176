"""Parsing untrusted bodies cheaply: bounded size, depth and item count, clear errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from services.ingest.errors import MalformedBody

MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_FORM_FIELDS = 500


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """The decoded JSON, or MalformedBody for invalid JSON, deep nesting or huge arrays.

    The walk stops at the first limit it crosses, so a hostile body costs at most
    `max_nodes` steps after the C parser is done.
    """
    if not raw.strip():
        raise MalformedBody("empty body: a JSON object is required")
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise MalformedBody(f"JSON nested deeper than {max_depth} levels") from exc
    except UnicodeDecodeError as exc:
        raise MalformedBody("body is not UTF-8") from exc
    except ValueError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    _check_shape(value, max_depth, max_nodes)
    return value


def _check_shape(value: Any, max_depth: int, max_nodes: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise MalformedBody(f"JSON has more than {max_nodes} values")
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise MalformedBody(f"JSON nested deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            if len(children) > max_nodes:
                raise MalformedBody(f"JSON has more than {max_nodes} values")
            stack.extend((child, depth + 1) for child in children)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise MalformedBody("body must be a JSON object")
    return value


def parse_form(raw: bytes, *, max_fields: int = MAX_FORM_FIELDS) -> list[tuple[str, str]]:
    """`application/x-www-form-urlencoded` pairs in order, repeated names kept, values untrimmed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody("form body is not UTF-8") from exc
    if not text:
        return []
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not a valid form: {exc}") from exc
