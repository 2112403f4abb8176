"""Copy cells never break the grid nor run as formulas; Print keeps accents and pages."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from services.exports.copy import tsv_cell, tsv_line
from services.exports.printing import render_pdf


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+54 9 11", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_formula_starts_are_defused_with_a_quote(value: str) -> None:
    cell = tsv_cell(value)
    assert cell.startswith("'")
    assert "\t" not in cell and "\r" not in cell


def test_tabs_and_line_breaks_inside_a_cell_become_spaces() -> None:
    assert tsv_cell("a\tb\r\nc") == "a b  c"


def test_plain_text_with_accents_is_kept() -> None:
    assert tsv_cell("Peña Martínez") == "Peña Martínez"


def test_a_line_parses_back_as_one_spreadsheet_row() -> None:
    line = tsv_line(["José", "a\tb", "=1+1", 'dice "hola"'])
    [parsed] = list(csv.reader(io.StringIO(line), dialect="excel-tab"))
    assert parsed == ["José", "a b", "'=1+1", 'dice "hola"']


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_has_title_filters_rows_accents_and_page_numbers() -> None:
    rows = [[f"Martínez Peña {i}", "Ñandú ¿sí?"] for i in range(120)]
    pdf, pages = render_pdf(
        "Consultas", ["Filtros: estado: abiertos"], ["Nombre", "Asunto"], [1, 1], rows
    )
    text = _text(pdf)
    assert pages >= 2
    assert "Consultas" in text
    assert "Filtros: estado: abiertos" in text
    assert "Martínez Peña 119" in text
    assert "Ñandú ¿sí?" in text
    assert f"Página 1 de {pages}" in text
    assert f"Página {pages} de {pages}" in text


def test_pdf_cuts_an_overlong_cell_with_an_ellipsis() -> None:
    pdf, _ = render_pdf("Chats", [], ["A", "B"], [1, 10], [["x" * 500, "corto"]])
    text = _text(pdf)
    assert "…" in text
    assert "x" * 500 not in text


def test_pdf_of_no_rows_says_so() -> None:
    pdf, pages = render_pdf("Chats", [], ["A"], [1], [])
    assert pages == 1
    assert "Sin filas" in _text(pdf)
