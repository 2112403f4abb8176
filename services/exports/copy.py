"""Copy: a table as tab-separated text that pastes into a spreadsheet cell by cell.

Pure. A cell never breaks the grid (tabs and line breaks become spaces) and never runs as a
formula: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`,
which spreadsheets read as "this is text" (OWASP's CSV-injection advice).
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GRID_BREAKERS = str.maketrans({"\t": " ", "\r": " ", "\n": " "})


def tsv_cell(value: str) -> str:
    """The cell as it can safely be pasted."""
    prefix = "'" if value.startswith(FORMULA_STARTS) else ""
    return prefix + value.translate(_GRID_BREAKERS)


def tsv_line(cells: Iterable[str]) -> str:
    return "\t".join(tsv_cell(cell) for cell in cells) + "\r\n"
