"""Untrusted bodies are parsed cheaply and refused with a clear reason."""

from __future__ import annotations

import pytest

from services.ingest.bodies import parse_form, parse_json, parse_json_object
from services.ingest.errors import MalformedBody
from tests.unit.ingest.payloads import CHANNELS


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b"{'a': 1}", b"[1,]", b"\xff\xfe", b"nan?"])
def test_invalid_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_json(raw)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(MalformedBody, match="nested"):
        parse_json(b"[" * 40 + b"]" * 40)


def test_extremely_deep_nesting_is_refused_without_recursion_error() -> None:
    with pytest.raises(MalformedBody):
        parse_json(b"[" * 200_000 + b"]" * 200_000)


def test_huge_arrays_are_refused() -> None:
    raw = b"[" + b",".join(b"0" for _ in range(300_000)) + b"]"
    with pytest.raises(MalformedBody, match="more than"):
        parse_json(raw)


def test_a_json_array_is_not_a_webhook_object() -> None:
    with pytest.raises(MalformedBody, match="object"):
        parse_json_object(b"[1, 2]")


def test_messenger_body_cut_short_is_malformed() -> None:
    with pytest.raises(MalformedBody):
        parse_json_object((CHANNELS / "messenger" / "invalid_json.txt").read_bytes())


def test_form_keeps_order_repeats_blank_values_and_utf8() -> None:
    pairs = parse_form(b"Digits=&ToCity=Montr%C3%A9al&A=1&A=2&Speech=+hola+")
    assert pairs == [
        ("Digits", ""),
        ("ToCity", "Montréal"),
        ("A", "1"),
        ("A", "2"),
        ("Speech", " hola "),
    ]


@pytest.mark.parametrize("raw", [b"novalue", b"a=%ff", b"\xff=1"])
def test_invalid_forms_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_form(raw)


def test_form_with_too_many_fields_is_refused() -> None:
    with pytest.raises(MalformedBody):
        parse_form(b"&".join(b"a%d=1" % i for i in range(1000)))
