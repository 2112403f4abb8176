"""The shared error answers: a lone surrogate never makes an answer unencodable."""

from __future__ import annotations

import json

from shared.http_errors import encodable


def test_lone_surrogates_become_replacement_characters_at_any_depth() -> None:
    value = {"input": ["a\ud800b?", {"k\udfff": "¿sí?"}], "n": 3}
    clean = encodable(value)
    assert clean == {"input": ["a\ufffdb?", {"k\ufffd": "¿sí?"}], "n": 3}
    json.dumps(clean, ensure_ascii=False).encode("utf-8")  # encodable now
