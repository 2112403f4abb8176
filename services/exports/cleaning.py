"""Text that is safe to show on paper and in a spreadsheet: no control or bidi characters.

Pure. A NUL or an escape code in a customer's name breaks a spreadsheet paste or a PDF
viewer; a right-to-left override (U+202E) makes `exe.txt` read as `txt.exe`. Line breaks
and tabs become spaces (a cell is one line); every other control character (Unicode Cc),
bidi control and invisible format character (Cf: zero-width, BOM) is removed.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]")


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char != " "


def clean_text(value: str) -> str:
    """The text without control, bidi or invisible characters; breaks become spaces."""
    if value.isprintable():
        return value  # the common case, checked in C
    value = _SPACES.sub(" ", value)
    return "".join(char for char in value if not _is_hidden(char))
