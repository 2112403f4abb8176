"""Every message on the bus says which contracts version wrote it; a consumer reads the
current and the previous version and refuses any other (shared/contracts/base.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.asyncapi import _topics, build_asyncapi
from shared.contracts import parse_inbound
from shared.contracts.base import SCHEMA_VERSION, UNVERSIONED, UnsupportedSchemaVersion
from tests.settings import isolated_settings

EXAMPLES = [(t.routing_key, t.example) for t in _topics()]


@pytest.mark.parametrize(("key", "example"), EXAMPLES, ids=[k for k, _ in EXAMPLES])
def test_every_message_is_written_with_the_current_version(key: str, example: Any) -> None:
    assert example.model_dump(mode="json")["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(("key", "example"), EXAMPLES, ids=[k for k, _ in EXAMPLES])
def test_a_previous_version_body_reads_as_the_current_shape(key: str, example: Any) -> None:
    current = example.model_dump(mode="json")
    unversioned = {k: v for k, v in current.items() if k != "schema_version"}
    for body in (unversioned, {**current, "schema_version": SCHEMA_VERSION - 1}):
        decoded = type(example).model_validate(body)
        assert decoded.model_dump(mode="json") == current


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, -1, "2", None, 2.0, True])
def test_any_other_version_is_refused_not_misread(version: object) -> None:
    [example] = [e for k, e in EXAMPLES if k == "inbound.whatsapp.message"]
    body = {**example.model_dump(mode="json"), "schema_version": version}
    with pytest.raises(UnsupportedSchemaVersion) as refused:
        parse_inbound(body)
    assert refused.value.version == version


def test_a_newer_version_says_the_consumer_is_older() -> None:
    [example] = [e for k, e in EXAMPLES if k == "conversation.opened"]
    body = {**example.model_dump(mode="json"), "schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(UnsupportedSchemaVersion, match="newer than"):
        type(example).model_validate(body)


def test_the_previous_version_is_the_one_without_the_field() -> None:
    assert UNVERSIONED == SCHEMA_VERSION - 1


def test_the_asyncapi_document_shows_the_version() -> None:
    doc = build_asyncapi(isolated_settings())
    assert doc["info"]["x-schema-version"] == SCHEMA_VERSION
    for message in doc["components"]["messages"].values():
        assert message["x-schema-version"] == SCHEMA_VERSION
        schema = doc["components"]["schemas"][message["name"]]
        assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION
        for example in message["examples"]:
            assert example["payload"]["schema_version"] == SCHEMA_VERSION
