"""Print of a report: the chart the console draws (bars, lines or the weekday × hour heat
map), drawn with fpdf2's own lines and rectangles on the first page, then the table as
`printing.TablePdf` lays out every table. Pure, like `printing.render_pdf`: the API runs it
in a worker process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from services.exports.cleaning import clean_text
from services.exports.printing import (
    FONT,
    HEADER_FILL,
    HEADER_FONT_SIZE,
    ROW_FONT_SIZE,
    TablePdf,
)

PALETTE = [(37, 99, 235), (22, 163, 74), (245, 158, 11), (220, 38, 38), (124, 58, 237)]
CHART_HEIGHT = 95.0


@dataclass
class Chart:
    """What to draw: `bars` and `lines` plot `series` (name, one value per category);
    `heatmap` plots `matrix` (one row per category, one column per `columns` label)."""

    kind: str
    categories: list[str]
    series: list[tuple[str, list[float]]] = field(default_factory=list)
    matrix: list[list[float]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def nice_max(value: float) -> float:
    """Four equal whole steps of 1, 2 or 5 × 10^n covering `value` (as the console's axis)."""
    quarter = max(1.0, value / 4)
    power = 10.0 ** len(str(int(quarter))) / 10
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= quarter)
    return 4 * step


class ReportPdf(TablePdf):
    """A table whose first page opens with the chart (below the title and the range)."""

    def __init__(
        self, title: str, subtitle_lines: Sequence[str], labels: Sequence[str], chart: Chart | None
    ) -> None:
        super().__init__(title, subtitle_lines, labels)
        self.chart = chart

    def header(self) -> None:
        if self.chart is None or self.page_no() != 1:
            return super().header()
        self.set_font(FONT, "B", 13)
        self.cell(0, 7, self.table_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8)
        for line in self.subtitle_lines:
            self.cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
        self.draw_chart(self.chart)
        self.set_font(FONT, "B", HEADER_FONT_SIZE)
        self.draw_row(self.labels, fill=HEADER_FILL, border=True)
        self.set_font(FONT, "", ROW_FONT_SIZE)
        return None

    def draw_chart(self, chart: Chart) -> None:
        top = self.get_y() + 5
        left, right = self.l_margin + 14, self.w - self.r_margin
        bottom = top + CHART_HEIGHT - 16
        self.set_font(FONT, "", 6.5)
        if chart.kind == "heatmap":
            self._heatmap(chart, left, top, right)
        else:
            values = [v for _, vs in chart.series for v in vs]
            top_value = nice_max(max(values, default=0))
            self._axis(left, top, right, bottom, top_value)
            if chart.kind == "lines":
                self._lines(chart, left, top, right, bottom, top_value)
            else:
                self._bars(chart, left, top, right, bottom, top_value)
            self._legend([name for name, _ in chart.series], left, bottom + 8)
        self.set_draw_color(0, 0, 0)
        self.set_xy(self.l_margin, top + CHART_HEIGHT)
        self.set_font(FONT, "", 7.5)

    def _axis(self, left: float, top: float, right: float, bottom: float, top_value: float) -> None:
        self.set_draw_color(226, 232, 240)
        for step in range(5):
            y = bottom - (bottom - top) * step / 4
            self.line(left, y, right, y)
            self.set_xy(left - 14, y - 1.5)
            self.cell(12, 3, f"{top_value * step / 4:g}", align="R")

    def _label(self, text: str, x: float, y: float, width: float) -> None:
        text = clean_text(text)
        while text and self.get_string_width(text) > width and len(text) > 2:
            text = text[:-2] + "…"
        self.set_xy(x, y)
        self.cell(width, 3, text, align="C")

    def _bars(
        self, chart: Chart, left: float, top: float, right: float, bottom: float, top_value: float
    ) -> None:
        slot = (right - left) / max(1, len(chart.categories))
        bar = max(0.5, min(8.0, slot * 0.8 / max(1, len(chart.series))))
        for ci, category in enumerate(chart.categories):
            start = left + ci * slot + (slot - bar * len(chart.series)) / 2
            for si, (_, values) in enumerate(chart.series):
                height = (bottom - top) * values[ci] / top_value
                self.set_fill_color(*PALETTE[si % len(PALETTE)])
                if height > 0:
                    self.rect(start + si * bar, bottom - height, bar * 0.9, height, style="F")
            self._label(category, left + ci * slot, bottom + 1, slot)

    def _lines(
        self, chart: Chart, left: float, top: float, right: float, bottom: float, top_value: float
    ) -> None:
        count = len(chart.categories)
        step = (right - left) / (count - 1) if count > 1 else 0

        def x(i: int) -> float:
            return left + i * step if count > 1 else (left + right) / 2

        for si, (_, values) in enumerate(chart.series):
            color = PALETTE[si % len(PALETTE)]
            self.set_draw_color(*color)
            self.set_fill_color(*color)
            self.set_line_width(0.6)
            points = [(x(i), bottom - (bottom - top) * v / top_value) for i, v in enumerate(values)]
            for (x1, y1), (x2, y2) in pairwise(points):
                self.line(x1, y1, x2, y2)
            for px, py in points:
                self.ellipse(px - 0.8, py - 0.8, 1.6, 1.6, style="F")
            self.set_line_width(0.2)
        every = max(1, -(-count // 12))
        for i, category in enumerate(chart.categories):
            if i % every == 0:
                self._label(category, x(i) - 10, bottom + 1, 20)

    def _heatmap(self, chart: Chart, left: float, top: float, right: float) -> None:
        columns = max(1, len(chart.columns))
        cell = min((right - left - 6) / columns, (CHART_HEIGHT - 14) / max(1, len(chart.matrix)))
        start = left + 6
        peak = max((v for row in chart.matrix for v in row), default=0) or 1
        for ci, label in enumerate(chart.columns):
            self._label(label, start + ci * cell, top, cell)
        for ri, row in enumerate(chart.matrix):
            y = top + 4 + ri * cell
            self._label(chart.categories[ri], left - 14, y + cell / 2 - 1.5, 19)
            for ci, value in enumerate(row):
                strength = 0.12 + 0.88 * value / peak if value else 0.0
                shade = tuple(round(255 - (255 - c) * strength) for c in PALETTE[0])
                self.set_fill_color(*(shade if value else (241, 245, 249)))
                self.rect(start + ci * cell + 0.3, y + 0.3, cell - 0.6, cell - 0.6, style="F")

    def _legend(self, names: Sequence[str], left: float, y: float) -> None:
        for i, name in enumerate(names):
            x = left + i * 45
            self.set_fill_color(*PALETTE[i % len(PALETTE)])
            self.rect(x, y, 3, 3, style="F")
            self.set_xy(x + 4, y)
            self.cell(38, 3, clean_text(name))


def render_report_pdf(
    title: str,
    subtitle_lines: Sequence[str],
    labels: Sequence[str],
    rows: Sequence[Sequence[str]],
    chart: Chart | None,
) -> tuple[bytes, int]:
    """The PDF bytes and its page count: the chart on the first page, then the table."""
    cleaned = [[clean_text(text) for text in cells] for cells in rows]
    pdf = ReportPdf(clean_text(title), subtitle_lines, labels, chart)
    pdf.size_columns(cleaned)
    pdf.add_page()
    pdf.add_rows(cleaned)
    return bytes(pdf.output()), pdf.page_no()
