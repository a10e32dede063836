"""Reading back what the platform writes as CSV and .xlsx, and the classic formula-injection payloads fed to it."""

from __future__ import annotations

import csv
import io

import openpyxl

# CSV injection as the OWASP sheet and the probes spell it: a formula, a link, DDE, sign-led arithmetic,
# a formula behind a tab or carriage return, the full-width equals sign, and a bare URL (xlsxwriter would link it).
FORMULA_PAYLOADS = (
    '=HYPERLINK("http://x","y")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1",
    "-1+1",
    "=1+1",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "=cmd|' /C notepad'!'A1'",
    "http://x.example/phish",
)


def xlsx_cells(content: bytes) -> list[openpyxl.cell.Cell]:
    """Every non-empty cell of every sheet, after checking that none of them is a formula or a hyperlink."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    formulas = [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    links = [(c.coordinate, c.value) for c in cells if c.hyperlink is not None]
    assert not formulas and not links, (formulas, links)
    return cells


def xlsx_texts(content: bytes) -> dict[str, str]:
    """The text cells of a workbook, value → data type (each must be 's'). xlsxwriter stores a carriage return as
    the OOXML escape `_x000D_`, which openpyxl leaves as it is: read back as the character."""
    return {c.value.replace("_x000D_", "\r"): c.data_type for c in xlsx_cells(content) if isinstance(c.value, str)}


def csv_cells(content: bytes, encoding: str = "utf-8") -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode(encoding), newline="")) for cell in row]


def written_as_text(payload: str) -> str:
    """How a CSV cell holding `payload` must read: with the apostrophe that keeps a spreadsheet from evaluating it
    (a plain URL needs none: a CSV cell is never a link)."""
    return payload if payload.startswith("http") else "'" + payload
