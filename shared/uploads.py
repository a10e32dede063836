"""Uploaded files read in bounded memory whatever their size or badness: lines of a bounded length, the first
errors kept and the rest only counted, and headers that are exactly the expected columns. Used by the bank return
file (payments) and the partner feeds (monitoring)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import IO, Generic, TypeVar

from shared.errors import InvalidInput

T = TypeVar("T")

NAMED_COLUMNS = 10  # a header problem names this many columns and counts the rest


class ErrorSample(Generic[T]):
    """The first `keep` errors of a file and the count of all of them: a file of a million bad rows costs `keep`
    errors in memory (or in the error report), not a million. `take()` hands over the kept ones not yet taken (a
    report written as the file streams); `total` and `omitted` stay."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.total = 0
        self.kept = 0
        self.items: list[T] = []

    def add(self, error: T) -> None:
        self.total += 1
        if self.kept < self.keep:
            self.kept += 1
            self.items.append(error)

    def take(self) -> list[T]:
        items, self.items = self.items, []
        return items

    @property
    def omitted(self) -> int:
        return self.total - self.kept


def _named(columns: Sequence[str]) -> str:
    shown = ", ".join(c if len(c) <= 40 else c[:40] + "…" for c in columns[:NAMED_COLUMNS])
    rest = len(columns) - NAMED_COLUMNS
    return shown + (f" and {rest} more" if rest > 0 else "")


def column_problems(header: Sequence[str], expected: Sequence[str], optional: Collection[str] = ()) -> list[str]:
    """What is wrong with a file's header, empty when it is exactly the expected columns (those in `optional` may
    be left out): missing, unknown and repeated columns, each named (the first few, and how many more)."""
    present = [h.strip().lstrip("\ufeff") for h in header]
    seen: set[str] = set()
    repeated = [c for c in present if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    missing = [c for c in expected if c not in seen and c not in optional]
    known = set(expected)
    unknown = [c for c in dict.fromkeys(present) if c not in known]
    problems = []
    if missing:
        problems.append(f"missing column(s) {_named(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {_named(unknown)}; expected exactly {', '.join(expected)}")
    if repeated:
        problems.append(f"column(s) {_named(list(dict.fromkeys(repeated)))} appear more than once")
    return problems


def bounded_lines(file: IO[bytes], max_bytes: int, field: str = "file") -> Iterator[bytes]:
    """The file's lines, each at most `max_bytes` long with its line break: a longer one (a file with no line
    breaks, a megabyte of commas) is refused with a 422 naming `field` and the line, before it is held in memory."""
    number = 0
    while line := file.readline(max_bytes + 1):
        number += 1
        if len(line) > max_bytes:
            raise InvalidInput(field, f"line {number} is longer than {max_bytes} bytes", line=number)
        yield line
