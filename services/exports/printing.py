"""Print: a table as a landscape A4 PDF, laid out as the screen shows it.

fpdf2, one `cell()` per line of text. Columns are sized by their content (the widest value
or label, up to a fair share of the page) and a value wider than its column wraps onto more
lines of the same row, so "GENERÓ SERVICIO TÉCNICO" is never cut; only a value longer than
`MAX_LINES` lines ends with an ellipsis. Control and bidi characters are removed first
(`cleaning.clean_text`). The DejaVu Sans font bundled in `fonts/` carries every Spanish
glyph (á é í ó ú ü ñ ¿ ¡). Pure: no I/O besides reading the bundled font; the API runs it
in a worker process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from fpdf import FPDF

from services.exports.cleaning import clean_text

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"
ROW_FONT_SIZE = 7.5
HEADER_FONT_SIZE = 8
LINE_HEIGHT = 3.6
ROW_PADDING = 1.0
MAX_LINES = 8
ELLIPSIS = "…"
HEADER_FILL = (225, 230, 238)
SHADE_FILL = (245, 247, 250)
PAGE_WIDTH = 277.0  # printable width of a landscape A4 page with 10 mm margins
CELL_MARGIN = 1.0  # left and right inside each column
SLACK = 0.5  # rounding room, so a value measured to fit does fit


class TablePdf(FPDF):
    """A document whose every page repeats the title, the filters and the column header."""

    def __init__(self, title: str, subtitle_lines: Sequence[str], labels: Sequence[str]) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_margins(10, 10, 10)
        self.c_margin = CELL_MARGIN
        # Rows break pages themselves: a wrapped row never splits across two pages.
        self.set_auto_page_break(auto=False, margin=12)
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("contactcenter exports")
        self.alias_nb_pages("{nb}")
        self.table_title = title
        self.subtitle_lines = [clean_text(line) for line in subtitle_lines]
        self.labels = [clean_text(label) for label in labels]
        self.widths: list[float] = [PAGE_WIDTH / max(len(labels), 1)] * len(labels)
        self._char_widths: dict[tuple[str, float, str], float] = {}
        self.bottom = self.h - 12

    # ------------------------------------------------------------- measuring

    def char_width(self, char: str) -> float:
        """One glyph's advance at the current font and size, measured once and cached:
        measuring every cell through fpdf2 costs as much as drawing it."""
        key = (char, self.font_size_pt, self.font_style)
        width = self._char_widths.get(key)
        if width is None:
            width = self._char_widths[key] = self.get_string_width(char)
        return width

    def text_width(self, text: str) -> float:
        return sum(self.char_width(char) for char in text)

    def widest_word(self, text: str) -> float:
        return max((self.text_width(word) for word in text.split()), default=0.0)

    def wrap(self, text: str, width: float, max_lines: int = MAX_LINES) -> list[str]:
        """The text in lines that fit `width`: broken at spaces, a word wider than the
        column broken between letters; past `max_lines`, the last line ends with `…`."""
        room = width - 2 * self.c_margin - SLACK
        if self.text_width(text) <= room:
            return [text]
        lines: list[str] = []
        current = ""
        used = 0.0
        space = self.char_width(" ")
        for word in text.split():
            size = self.text_width(word)
            if current and used + space + size <= room:
                current, used = f"{current} {word}", used + space + size
                continue
            if current:
                lines.append(current)
            current, used = "", 0.0
            for char in word:
                advance = self.char_width(char)
                if current and used + advance > room:
                    lines.append(current)
                    current, used = "", 0.0
                current, used = current + char, used + advance
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            budget = room - self.char_width(ELLIPSIS)
            while last and self.text_width(last) > budget:
                last = last[:-1]
            lines = [*lines[: max_lines - 1], last.rstrip() + ELLIPSIS]
        return lines

    def size_columns(self, rows: Sequence[Sequence[str]]) -> None:
        """Each column as wide as its widest value or label, when the page allows; when it
        does not, narrow columns keep their width and the wide ones share the rest."""
        count = len(self.labels)
        if count == 0:
            return
        self.set_font(FONT, "B", HEADER_FONT_SIZE)
        label_words = [self.widest_word(label) for label in self.labels]
        natural = [self.text_width(label) for label in self.labels]
        self.set_font(FONT, "", ROW_FONT_SIZE)
        for cells in rows:
            for index, text in enumerate(cells):
                # The cheap bound first: no glyph of the font is wider than one em.
                if len(text) * self.font_size > natural[index]:
                    natural[index] = max(natural[index], self.text_width(text))
        pad = 2 * self.c_margin + SLACK
        wanted = [max(width, word) + pad for width, word in zip(natural, label_words, strict=True)]
        if sum(wanted) <= PAGE_WIDTH:
            extra = (PAGE_WIDTH - sum(wanted)) / count
            self.widths = [width + extra for width in wanted]
            return
        widths: list[float | None] = [None] * count
        remaining = PAGE_WIDTH
        while True:
            flexible = [i for i in range(count) if widths[i] is None]
            share = remaining / len(flexible)
            fitting = [i for i in flexible if wanted[i] <= share]
            if not fitting or len(fitting) == len(flexible):
                break
            for i in fitting:
                widths[i] = wanted[i]
                remaining -= wanted[i]
        flexible = [i for i in range(count) if widths[i] is None]
        share = remaining / len(flexible)
        self.widths = [share if width is None else width for width in widths]

    # ------------------------------------------------------------- drawing

    def header(self) -> None:
        self.set_font(FONT, "B", 13)
        self.cell(0, 7, self.table_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8)
        for line in self.subtitle_lines:
            self.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font(FONT, "B", HEADER_FONT_SIZE)
        self.draw_row(self.labels, fill=HEADER_FILL, border=True)
        self.set_font(FONT, "", ROW_FONT_SIZE)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7.5)
        self.cell(0, 5, f"Página {self.page_no()} de {{nb}}", align="C")

    def draw_row(
        self, cells: Sequence[str], *, fill: tuple[int, int, int] | None, border: bool = False
    ) -> None:
        wrapped = [self.wrap(text, width) for text, width in zip(cells, self.widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * LINE_HEIGHT + ROW_PADDING
        if self.get_y() + height > self.bottom and not border:
            self.add_page()
        top, left = self.get_y(), self.l_margin
        x = left
        if fill:
            self.set_fill_color(*fill)
        for lines, width in zip(wrapped, self.widths, strict=True):
            if fill:
                self.rect(x, top, width, height, style="F")
            if border:
                self.rect(x, top, width, height)
            for index, line in enumerate(lines):
                self.set_xy(x, top + ROW_PADDING / 2 + index * LINE_HEIGHT)
                self.cell(width, LINE_HEIGHT, line)
            x += width
        if not border:
            self.line(left, top + height, x, top + height)
        self.set_xy(left, top + height)

    def add_rows(self, rows: Iterable[Sequence[str]]) -> int:
        count = 0
        shade = False
        for cells in rows:
            self.draw_row(cells, fill=SHADE_FILL if shade else None)
            shade = not shade
            count += 1
        if count == 0:
            self.cell(0, LINE_HEIGHT * 2, "Sin filas para estos filtros.")
        return count


def render_pdf(
    title: str,
    subtitle_lines: Sequence[str],
    labels: Sequence[str],
    rows: Iterable[Sequence[str]],
) -> tuple[bytes, int]:
    """The PDF bytes and its page count. Cells are cleaned of control and bidi characters."""
    cleaned = [[clean_text(text) for text in cells] for cells in rows]
    pdf = TablePdf(clean_text(title), subtitle_lines, labels)
    pdf.size_columns(cleaned)
    pdf.add_page()
    pdf.add_rows(cleaned)
    return bytes(pdf.output()), pdf.page_no()
