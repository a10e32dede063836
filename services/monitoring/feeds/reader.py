"""Reading a feed file as it streams in: CSV (UTF-8 or GBK) or JSON lines, row by row, in constant memory,
hashing the bytes on the way (a file is idempotent by its partner and SHA-256)."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from services.monitoring.feeds.kinds import FieldProblem, check_header

MAX_LINE_CHARS = 10_000  # a partner row is ~200 characters; anything near this is not a feed row


class BadFile(FieldProblem):
    """The file as a whole is unusable (encoding, header, not CSV/JSON lines): nothing of it is loaded."""


class FeedReader:
    """Yields (line number, row mapping | RowProblem) from a byte stream; `sha256` is known once exhausted."""

    def __init__(self, stream: AsyncIterator[bytes], kind: str, fmt: str, encoding: str | None) -> None:
        self.stream, self.kind, self.fmt = stream, kind, fmt
        self.encoding = encoding  # None: UTF-8 unless the first bytes are not, then GBK
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    async def _text(self) -> AsyncIterator[str]:
        decoder = None
        async for chunk in self.stream:
            if not chunk:
                continue
            self.digest.update(chunk)
            self.bytes_read += len(chunk)
            if decoder is None:
                decoder = self._decoder_for(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                raise BadFile(
                    "body", f"the file is not valid {decoder.encoding}: send UTF-8 or GBK and say which (charset=gbk)"
                ) from None
            if "\x00" in text:  # no partner file has NUL characters; PostgreSQL text cannot hold them
                raise BadFile("body", "the file contains NUL characters: not a CSV or JSON lines text file")
            yield text
        if decoder is not None:
            try:
                tail = decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise BadFile("body", "the file ends inside a character") from None
            if tail:
                yield tail

    def _decoder_for(self, first: bytes) -> Any:
        encoding = self.encoding
        if encoding is None:
            try:
                first[:4096].decode("utf-8")
                encoding = "utf-8-sig"
            except UnicodeDecodeError as exc:
                # A multi-byte character cut at the sample's end is still UTF-8: only a cut one ends the data early
                # (a GBK character in the last bytes is an invalid start or continuation byte, not a cut).
                encoding = "utf-8-sig" if exc.reason == "unexpected end of data" else "gb18030"
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        decoder.encoding = encoding  # type: ignore[attr-defined]
        return decoder

    async def _lines(self) -> AsyncIterator[list[str]]:
        """Batches of complete records' lines. For CSV a record may span lines inside quotes, so a batch is only
        cut where the quotes seen so far are balanced."""
        pending = ""
        async for text in self._text():
            pending += text
            cut = pending.rfind("\n")
            if cut < 0:
                if len(pending) > MAX_LINE_CHARS * 10:
                    raise BadFile("body", f"no line break in the first {len(pending)} characters")
                continue
            if self.fmt == "csv":
                while cut >= 0 and pending.count('"', 0, cut) % 2:
                    cut = pending.rfind("\n", 0, cut)
                if cut < 0:
                    # A quote never closed would hold the rest of the file here.
                    if len(pending) > MAX_LINE_CHARS * 10:
                        raise BadFile("body", f"a quoted field runs on for more than {len(pending)} characters")
                    continue
            head, pending = pending[: cut + 1], pending[cut + 1 :]
            yield [piece + "\n" for piece in head.split("\n")[:-1]]
        if pending:
            yield [pending]

    async def rows(self) -> AsyncIterator[tuple[int, dict[str, Any] | str]]:
        """(line, row) for each record; (line, message) for a line that cannot even be parsed. A file without a
        row (empty, or a header alone) is refused."""
        rows = 0
        async for item in self._csv_rows() if self.fmt == "csv" else self._jsonl_rows():
            rows += 1
            yield item
        if self.bytes_read == 0:
            raise BadFile("body", "the file is empty")
        if rows == 0:
            raise BadFile("body", "the file has no rows" + (" after the header" if self.fmt == "csv" else ""))

    async def _csv_rows(self) -> AsyncIterator[tuple[int, dict[str, Any] | str]]:
        header: list[str] | None = None
        line_base = 0
        async for lines in self._lines():
            reader = csv.reader(lines, strict=True)
            try:
                for record in reader:
                    line = line_base + reader.line_num
                    if not record or record == [""]:
                        continue
                    if header is None:
                        header = [h.strip().lstrip("\ufeff") for h in record]
                        problems = check_header(self.kind, header)
                        if problems:
                            raise BadFile("header", "; ".join(problems))
                        continue
                    if len(record) != len(header):
                        yield line, f"has {len(record)} fields, the header has {len(header)}"
                        continue
                    yield line, dict(zip(header, record, strict=False))  # lengths checked just above
            except csv.Error as exc:
                raise BadFile("body", f"not CSV near line {line_base + reader.line_num}: {exc}") from None
            line_base += len(lines)
        if header is None and self.bytes_read:
            raise BadFile("header", "the file has no header row")

    async def _jsonl_rows(self) -> AsyncIterator[tuple[int, dict[str, Any] | str]]:
        line = 0
        seen_header = False
        async for lines in self._lines():
            for text in lines:
                line += 1
                text = text.rstrip("\r\n")
                if not text.strip():
                    continue
                try:
                    row = orjson.loads(text)
                except orjson.JSONDecodeError:
                    if not seen_header and line == 1:
                        raise BadFile("body", "not JSON lines: the first line is not a JSON object") from None
                    yield line, "is not a JSON object"
                    continue
                if not isinstance(row, dict):
                    if line == 1:
                        raise BadFile("body", "not JSON lines: each line must be a JSON object")
                    yield line, "is not a JSON object"
                    continue
                if not seen_header:
                    problems = check_header(self.kind, list(row))
                    missing = [p for p in problems if p.startswith("missing")]
                    if missing:
                        raise BadFile("header", "first row: " + "; ".join(missing))
                    seen_header = True
                yield line, row
