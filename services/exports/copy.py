"""Copy: a table as tab-separated text that pastes into a spreadsheet cell by cell.

Pure. A cell never breaks the grid (tabs and line breaks become spaces, other control,
bidi and invisible characters are removed: `cleaning.clean_text`) and never runs as a
formula: a cell whose first visible character is `=`, `+`, `-`, `@` or `"` (also in its
fullwidth look-alikes, `＝1+1`, which spreadsheets fold to ASCII) gets a leading `'`, which
spreadsheets read as "this is text" (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from services.exports.cleaning import clean_text

FORMULA_STARTS = frozenset('=+-@"')


def starts_like_formula(value: str) -> bool:
    """True when a spreadsheet could read the cell as a formula (or a quoted field)."""
    head = value.lstrip()[:2]
    if not head:
        return False
    return unicodedata.normalize("NFKC", head)[:1] in FORMULA_STARTS


def tsv_cell(value: str) -> str:
    """The cell as it can safely be pasted."""
    value = clean_text(value)
    if starts_like_formula(value):
        value = "'" + value
    return value


def tsv_line(cells: Iterable[str]) -> str:
    return "\t".join(tsv_cell(cell) for cell in cells) + "\r\n"
