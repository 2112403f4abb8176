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
    pdf, pages = render_pdf("Consultas", ["Filtros: estado: abiertos"], ["Nombre", "Asunto"], rows)
    text = _text(pdf)
    assert pages >= 2
    assert "Consultas" in text
    assert "Filtros: estado: abiertos" in text
    assert "Martínez Peña 119" in text
    assert "Ñandú ¿sí?" in text
    assert f"Página 1 de {pages}" in text
    assert f"Página {pages} de {pages}" in text


def test_pdf_wraps_a_long_cell_and_cuts_only_past_the_line_limit() -> None:
    long_words = " ".join(f"palabra{i}" for i in range(60))
    pdf, _ = render_pdf("Chats", [], ["A", "B"], [[long_words, "corto"]])
    text = _text(pdf)
    assert all(f"palabra{i}" in text for i in range(60)), "a wrapped cell keeps every word"
    assert "…" not in text
    pdf, _ = render_pdf("Chats", [], ["A", "B"], [["x" * 20_000, "corto"]])
    text = _text(pdf)
    assert "…" in text
    assert "x" * 20_000 not in text.replace("\n", "")


def test_pdf_never_cuts_a_status_beside_wide_columns() -> None:
    """Seven columns of long text and a status: the status reads whole, not `GENERÓ SERV…`."""
    labels = ["ID", "Fecha", "Motivo", "Ciudad", "Estado", "Cliente", "Documento"]
    row = ["CA" + "f" * 32, "2024-05-10 10:00", "consulta de servicio " * 3,
           "Ciudad Autónoma", "GENERÓ SERVICIO TÉCNICO", "María de los Ángeles Fernández " * 2,
           "30.123.456"]  # fmt: skip
    pdf, _ = render_pdf("Llamadas", [], labels, [row] * 3)
    text = _text(pdf)
    assert "…" not in text
    words = " ".join(text.split())
    assert "GENERÓ SERVICIO TÉCNICO" in words or "GENERÓ SERVICIO\nTÉCNICO" in text
    for word in ("GENERÓ", "SERVICIO", "TÉCNICO", "30.123.456", "Ciudad", "Autónoma"):
        assert word in text


def test_pdf_and_copy_strip_control_and_bidi_characters() -> None:
    evil = "Ana\x00\u202eexe.txt\x1b[31m"
    pdf, _ = render_pdf("Chats", [], ["A"], [[evil]])
    text = _text(pdf)
    assert "\x00" not in text and "\u202e" not in text and "\x1b" not in text
    assert "Anaexe.txt[31m" in text
    assert tsv_cell(evil) == "Anaexe.txt[31m"


@pytest.mark.parametrize(
    "value", ['"=1+1', "＝1+1", "＋54 9 11", " =1+1", "\x00=1+1", "\u202e=1+1", "＠SUM(A1)"]
)
def test_quote_look_alikes_and_hidden_prefixes_are_defused(value: str) -> None:
    cell = tsv_cell(value)
    assert cell.startswith("'"), cell
    assert "\x00" not in cell and "\u202e" not in cell


def test_pdf_of_no_rows_says_so() -> None:
    pdf, pages = render_pdf("Chats", [], ["A"], [])
    assert pages == 1
    assert "Sin filas" in _text(pdf)
