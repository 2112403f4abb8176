"""Copy: a table as tab-separated text that pastes into a spreadsheet cell by cell.

Pure. A cell never breaks the grid (tabs and line breaks become spaces) and never runs as a
formula: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`,
which spreadsheets read as "this is text" (OWASP's CSV-injection advice).
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = frozenset("=+-@\t\r")


def tsv_cell(value: str) -> str:
    """The cell as it can safely be pasted."""
    if value and value[0] in FORMULA_STARTS:
        value = "'" + value
    # Checked first: most cells have no break, and Copy formats 100,000 rows at a time.
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return value


def tsv_line(cells: Iterable[str]) -> str:
    return "\t".join(tsv_cell(cell) for cell in cells) + "\r\n"
