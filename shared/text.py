"""Folding text for comparison: one definition of "the same words" for the whole project.

Customers write the same word many ways: `Contraseña`, `CONTRASEÑA`, `contrasena`, `n` followed
by a combining tilde (U+0303), fullwidth letters, a zero-width space pasted inside a word.
`fold` maps all of them to one plain form (compatibility-decomposed, accents and other
combining marks removed, case-folded, invisible format characters dropped), so a rule written
once as `contrasena` matches every spelling. `fold_with_positions` also says where each folded
character came from, so a match found in the folded text can be acted on in the original
(masking a value without rewriting the rest of what the customer wrote).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def _invisible(ch: str) -> bool:
    """Zero-width and other format characters (ZWSP, ZWJ, ZWNJ, BOM, soft hyphen, bidi
    controls): they change nothing a person reads, so they must change nothing we match."""
    return unicodedata.category(ch) == "Cf"


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if _invisible(ch):
        return ""
    decomposed = unicodedata.normalize("NFKD", ch)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.casefold()


def fold(text: str) -> str:
    """`"Contrase\\u200bÑA"` → `"contrasena"`: NFKD, combining marks and invisible characters
    removed, case-folded. Whitespace and punctuation are kept as they are."""
    return "".join(_fold_char(ch) for ch in text)


def fold_words(text: str) -> str:
    """`fold`, and whitespace collapsed to single spaces, trimmed: `"  José  PÉREZ"` →
    `"jose perez"`. The search key of names, statuses and motives typed by people."""
    return " ".join(fold(text).split())


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index in `text` it came from.

    A character may fold to several (`ß` → `ss`, `ﬁ` → `fi`) or to none (a combining mark,
    a zero-width space); positions never decrease, so a folded span `[a, b)` covers the
    original span `[positions[a], positions[b - 1] + 1)` plus any marks that vanished after it
    (see `original_span`).
    """
    out: list[str] = []
    positions: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        positions.extend([i] * len(folded))
    return "".join(out), positions


def original_span(text: str, positions: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of `text` behind the folded span `[start, end)`, extended over the combining
    marks and invisible characters right after it (they belong to its last character)."""
    begin = positions[start]
    stop = positions[end - 1] + 1
    while stop < len(text) and not _fold_char(text[stop]):
        stop += 1
    return begin, stop
