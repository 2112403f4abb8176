"""Print: a table as a landscape A4 PDF, laid out as the screen shows it.

fpdf2 with one `cell()` per value: 10,000 rows (about 290 pages) render in 10-15 s with
memory proportional to the document. reportlab measured faster (docs/api/exports.md);
fpdf2 stays because it is already our dependency and that size is what staff print.
The DejaVu Sans font bundled in `fonts/` carries every Spanish glyph (á é í ó ú ü ñ ¿ ¡).
Pure: no I/O besides reading the bundled font.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"
ROW_FONT_SIZE = 7.5
HEADER_FONT_SIZE = 8
ROW_HEIGHT = 4.6
ELLIPSIS = "…"


class TablePdf(FPDF):
    """A document whose every page repeats the title, the filters and the column header."""

    def __init__(
        self,
        title: str,
        subtitle_lines: Sequence[str],
        labels: Sequence[str],
        widths: Sequence[float],
    ) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=12)
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("contactcenter exports")
        self.alias_nb_pages("{nb}")
        self.table_title = title
        self.subtitle_lines = list(subtitle_lines)
        self.labels = list(labels)
        self.widths = list(widths)
        self._char_widths: dict[tuple[str, float, str], float] = {}

    def header(self) -> None:
        self.set_font(FONT, "B", 13)
        self.cell(0, 7, self.table_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8)
        for line in self.subtitle_lines:
            self.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font(FONT, "B", HEADER_FONT_SIZE)
        self.set_fill_color(225, 230, 238)
        for label, width in zip(self.labels, self.widths, strict=True):
            self.cell(width, ROW_HEIGHT + 1, self.fit(label, width), border=1, fill=True)
        self.ln()
        self.set_font(FONT, "", ROW_FONT_SIZE)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7.5)
        self.cell(0, 5, f"Página {self.page_no()} de {{nb}}", align="C")

    def char_width(self, char: str) -> float:
        """One glyph's advance at the current font and size, measured once and cached:
        measuring every cell through fpdf2 costs as much as drawing it."""
        key = (char, self.font_size_pt, self.font_style)
        width = self._char_widths.get(key)
        if width is None:
            width = self._char_widths[key] = self.get_string_width(char)
        return width

    def fit(self, text: str, width: float) -> str:
        """The text, cut with an ellipsis if it would overflow its column."""
        room = width - 2 * self.c_margin - 0.5  # a little slack for rounding
        # Cheap test first: no glyph of the font is wider than one em at this size.
        if len(text) * self.font_size <= room:
            return text
        if sum(self.char_width(char) for char in text) <= room:
            return text
        budget = room - self.char_width(ELLIPSIS)
        used = 0.0
        for index, char in enumerate(text):
            used += self.char_width(char)
            if used > budget:
                return text[:index].rstrip() + ELLIPSIS
        return text

    def add_rows(self, rows: Iterable[Sequence[str]]) -> int:
        count = 0
        shade = False
        self.set_fill_color(245, 247, 250)
        for cells in rows:
            for text, width in zip(cells, self.widths, strict=True):
                self.cell(width, ROW_HEIGHT, self.fit(text, width), border="B", fill=shade)
            self.ln()
            shade = not shade
            count += 1
        if count == 0:
            self.cell(0, ROW_HEIGHT * 2, "Sin filas para estos filtros.")
        return count


def column_widths(relative: Sequence[float], total: float = 277.0) -> list[float]:
    """Relative widths scaled to the printable width of a landscape A4 page."""
    scale = total / sum(relative)
    return [w * scale for w in relative]


def render_pdf(
    title: str,
    subtitle_lines: Sequence[str],
    labels: Sequence[str],
    relative_widths: Sequence[float],
    rows: Iterable[Sequence[str]],
) -> tuple[bytes, int]:
    """The PDF bytes and its page count."""
    pdf = TablePdf(title, subtitle_lines, labels, column_widths(relative_widths))
    pdf.add_page()
    pdf.add_rows(rows)
    return bytes(pdf.output()), pdf.page_no()
