"""Reading a roll file (CSV in UTF-8 or GBK, or .xlsx) row by row in bounded memory, from the spooled upload
(on disk beyond its first megabyte): its SHA-256 in one pass, then its rows as mappings of column key → text.

Lines are bounded (`shared.uploads.bounded_lines`), the header must be the template's columns
(`shared.uploads.column_problems`; optional ones may be left out, the Chinese titles or the keys), and a file
without rows is refused. File-level problems are `BadFile` (a 4xx naming the field); a row refused as it is read
(it cannot be split into the header's columns, or a digit column is a number cell) comes back as `RowRefused`, for
the report, under its own 户编号."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from services.intake.roll_import.domain import KEYS, OPTIONAL, header_keys
from shared.errors import InvalidInput
from shared.uploads import bounded_lines, column_problems

MAX_LINE_BYTES = 16 * 1024  # a roll row is ~300 bytes
_CHUNK = 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"
_DATA_SHEET_SKIP = ("填表说明",)
#: Digit strings a spreadsheet ruins as numbers (past 15 digits it keeps no more, and drops leading zeros): an ID
#: number or an account number in a number cell is refused, never read as what is left of it.
DIGITS_AS_TEXT = frozenset({"id_number", "account_number"})


@dataclass(frozen=True)
class RowRefused:
    """A row refused as it is read. `household_ref` is the row's 户编号 cell where it has one: the report files the
    refusal under its household, which is refused with it (never imported without the row's member); blank, the
    report names the row by its line."""

    field: str
    message: str
    household_ref: str = ""


class BadFile(ValueError):
    """The file as a whole is unusable (encoding, header, format, size): nothing of it is staged."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def digest(file: IO[bytes], max_bytes: int) -> tuple[str, int]:
    """The file's SHA-256 and size, read in chunks; a file over `max_bytes` is refused. Leaves it at its start."""
    file.seek(0)
    sha = hashlib.sha256()
    size = 0
    while chunk := file.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise BadFile("file", f"is larger than {max_bytes} bytes")
        sha.update(chunk)
    file.seek(0)
    if size == 0:
        raise BadFile("file", "the file is empty")
    return sha.hexdigest(), size


def detect_format(file: IO[bytes], filename: str | None) -> str:
    """csv or xlsx, by content (an .xlsx is a zip); an old .xls or any other binary is refused."""
    head = file.read(8)
    file.seek(0)
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile("file", "an old .xls workbook: save it as .xlsx or CSV")
    return "csv"


def _check_header(keys: list[str]) -> None:
    if problems := column_problems(keys, KEYS, OPTIONAL):
        raise BadFile("header", "; ".join(problems))


def rows(file: IO[bytes], fmt: str) -> Iterator[tuple[int, dict[str, Any] | RowRefused]]:
    """(line, {key: text}) per data row, or (line, RowRefused) for a row refused as it is read; blank rows
    skipped."""
    count = 0
    for item in _csv_rows(file) if fmt == "csv" else _xlsx_rows(file):
        count += 1
        yield item
    if count == 0:
        raise BadFile("file", "the file has no rows after the header")


def _decoder(file: IO[bytes]) -> Any:
    sample = file.read(64 * 1024)
    file.seek(0)
    try:
        sample.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        encoding = "utf-8-sig" if exc.start >= len(sample) - 3 else "gb18030"  # a character cut at the end
    return codecs.getincrementaldecoder(encoding)(errors="strict"), encoding


def _bounded(file: IO[bytes]) -> Iterator[bytes]:
    try:
        yield from bounded_lines(file, MAX_LINE_BYTES, "file")
    except InvalidInput as exc:
        raise BadFile("file", exc.detail.removeprefix("file: ")) from None


def _text_lines(file: IO[bytes]) -> Iterator[str]:
    decoder, encoding = _decoder(file)
    for number, raw in enumerate(_bounded(file), start=1):
        try:
            text = decoder.decode(raw)
        except UnicodeDecodeError:
            raise BadFile("file", f"line {number} is not valid {encoding}: save the file as UTF-8 or GBK") from None
        if "\x00" in text:
            raise BadFile("file", f"line {number} holds NUL characters: not a CSV text file")
        yield text


def _csv_rows(file: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | RowRefused]]:
    reader = csv.reader(_text_lines(file), strict=True)
    header: list[str] | None = None
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue
            if header is None:
                header = header_keys(record)
                _check_header(header)
                continue
            if len(record) != len(header):
                yield (
                    line,
                    RowRefused("row", f"has {len(record)} fields, the header has {len(header)}", _ref(header, record)),
                )
                continue
            yield line, dict(zip(header, record, strict=True))
    except csv.Error as exc:
        raise BadFile("file", f"not CSV near line {reader.line_num}: {exc}") from None
    if header is None:
        raise BadFile("header", "the file has no header row")


def _ref(header: list[str], cells: Sequence[Any]) -> str:
    """The row's 户编号 cell, if it has one (a row of the wrong width still has it where the header puts it,
    before the cell that shifted the rest)."""
    at = header.index("household_ref")
    return str(cells[at]).strip() if at < len(cells) else ""


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return "" if value is None else str(value)


def _xlsx_rows(file: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | RowRefused]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadFile("file", f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheets = [s for s in book.worksheets if s.title not in _DATA_SHEET_SKIP]
        if not sheets:
            raise BadFile("file", "the workbook has no data sheet")
        header: list[str] | None = None
        for line, values in enumerate(sheets[0].iter_rows(values_only=True), start=1):
            cells = [_xlsx_value(v) for v in values]
            while cells and not cells[-1].strip():
                cells.pop()
            if not cells:
                continue
            if header is None:
                header = header_keys(cells)
                _check_header(header)
                continue
            if len(cells) > len(header):
                yield (
                    line,
                    RowRefused("row", f"has {len(cells)} cells, the header has {len(header)}", _ref(header, cells)),
                )
                continue
            for raw, value in zip(header, values, strict=False):
                if raw in DIGITS_AS_TEXT and isinstance(value, float | int) and not isinstance(value, bool):
                    why = "the cell is a number, not text: set the column's format to 文本"
                    yield line, RowRefused(raw, why, _ref(header, cells))
                    break
            else:
                yield line, dict(zip(header, cells, strict=False))
        if header is None:
            raise BadFile("header", "the workbook has no header row")
    finally:
        book.close()
