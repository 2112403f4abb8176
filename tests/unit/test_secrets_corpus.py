"""The detector against a labelled corpus of Spanish chat lines (tests/fixtures/secrets/).

`credentials.txt`: lines in which a customer typed a credential, each with its values; no
value may stay readable once the line is masked. `ordinary.txt`: lines that mention the
keywords, phones, documents, addresses, amounts and dates without any credential; at least
98 % of them must come out exactly as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from shared.secrets import MASK, mask_secrets

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "secrets"
MIN_LINES_PER_HALF = 150
MIN_ORDINARY_UNCHANGED = 0.98


def _unescape(line: str) -> str:
    """`\\uXXXX` in the fixture stands for a character that does not show when printed."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), line)


def _lines(name: str) -> list[str]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [_unescape(line) for line in text.splitlines() if line.strip() and line[0] != "#"]


def credential_lines() -> list[tuple[str, list[str]]]:
    out = []
    for line in _lines("credentials.txt"):
        text, values = line.split(" ||| ")
        out.append((text, values.split(" | ")))
    return out


def _compact(text: str) -> str:
    return re.sub(r"\s", "", text)


def readable(value: str, masked: str) -> bool:
    """The value, or any of its pieces when typed in several ("551 902", "Rayo McQueen 95"),
    can still be read in the masked line."""
    if value in masked or _compact(value) in _compact(masked):
        return True
    pieces = value.split()
    if len(pieces) < 2:
        return False
    if all(p.isdigit() for p in pieces):
        return any(p in masked for p in pieces[1:])
    return any(p in masked for p in pieces if len(p) >= 3 and not p.isalpha())


def test_corpus_is_large_and_balanced() -> None:
    assert len(credential_lines()) >= MIN_LINES_PER_HALF
    assert len(_lines("ordinary.txt")) >= MIN_LINES_PER_HALF


def test_no_credential_value_is_readable_in_any_masked_line() -> None:
    leaks = []
    for text, values in credential_lines():
        masked = mask_secrets(text) or ""
        assert MASK in masked, text
        leaks += [(text, masked, v) for v in values if readable(v, masked)]
    assert leaks == []


def test_ordinary_lines_come_out_unchanged() -> None:
    ordinary = _lines("ordinary.txt")
    changed = [(line, mask_secrets(line)) for line in ordinary if mask_secrets(line) != line]
    unchanged = 1 - len(changed) / len(ordinary)
    assert unchanged >= MIN_ORDINARY_UNCHANGED, changed


def test_masking_any_corpus_line_twice_changes_nothing_more() -> None:
    lines = [text for text, _ in credential_lines()] + _lines("ordinary.txt")
    for line in lines:
        once = mask_secrets(line)
        assert mask_secrets(once) == once, line
