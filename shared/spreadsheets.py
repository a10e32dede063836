"""Text the platform writes into CSV and .xlsx files stays text: never a formula, a link or a number.

A spreadsheet opening a CSV evaluates a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or
carriage return before one) as a formula — `=HYPERLINK(…)` or a DDE `cmd|…` in a bank file or roster is code run
on the finance office's machine (CSV injection). Names are refused with those at the front desk
(shared/core/names.py), but a file writer must not depend on every value having come through there: every CSV cell goes
through `csv_row`, which puts an apostrophe before such a text (the spreadsheet convention for "this is text"; the
apostrophe is shown, nothing runs). The .xlsx writers store text as string cells, which a spreadsheet never
evaluates: `xlsx_workbook` makes xlsxwriter's `write()` / `write_row()` write every `str` with `write_string`, and
`text_row` does the same for openpyxl."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

import xlsxwriter
from openpyxl.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

# What a spreadsheet may take for the start of a formula; the full-width forms too, which some locales accept.
FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")


def csv_cell(value: Any) -> Any:
    """A CSV value as written: text that a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def csv_row(*values: Any) -> list[Any]:
    """A row for `csv.writer.writerow` (`writerow(csv_row(a, b, …))`), every text cell neutralised (`csv_cell`)."""
    return [csv_cell(v) for v in values]


def xlsx_workbook(out: str | IO[bytes], **options: Any) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook whose `write()` and `write_row()` store every `str` as a string cell: never a formula
    (`=…`), a hyperlink (`http://…`) or a number. Options are xlsxwriter's (`constant_memory`, `in_memory`)."""
    return xlsxwriter.Workbook(
        out, {**options, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )


def text_row(sheet: Worksheet, values: Iterable[Any]) -> list[Any]:
    """A row for openpyxl's `sheet.append` (normal or write-only sheets): each `str` as a cell typed string, which
    openpyxl would otherwise store as a formula when it starts with `=`."""
    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = Cell(sheet, row=1, column=1, value=value)  # placed by `append`
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
