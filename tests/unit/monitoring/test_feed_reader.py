"""Reading a partner feed as it streams in (services/monitoring/feeds/reader.py) in bounded memory whatever its size
or badness, with strict headers and no file without rows. The service's side (the error report capped, the counts
of a failed load) is in tests/integration/test_monitoring_feed_files.py."""

from __future__ import annotations

from datetime import date

import pytest

from services.monitoring.feeds.kinds import RowContext, RowError, check_header, validate_row
from services.monitoring.feeds.reader import BadFile, FeedReader
from shared.core.regions import RegionTable
from shared.uploads import ErrorSample
from tests.upload_kit import MB, RssWatch, chunks_of, lines_of

HEADER = b"id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n"
KEY = b"unit-test-fingerprint-key-0123456789"


async def _body(content: bytes):
    yield content


async def _rows(content: bytes, fmt: str = "csv") -> list:
    return [row async for row in FeedReader(_body(content), "medical", fmt, None).rows()]


async def _refusal(content: bytes, fmt: str = "csv") -> BadFile:
    with pytest.raises(BadFile) as caught:
        await _rows(content, fmt)
    return caught.value


async def test_thirty_megabytes_of_malformed_rows_stream_through_in_bounded_memory():
    def row(
        n: int,
    ) -> bytes:  # a bad ID number, a region outside the feed, a bad date; every other one a field too many
        extra = b",x" if n % 2 else b""
        return b"61062619560312%04dX,320830101,2024-13-01,-5,maybe%s%s\n" % (n % 10_000, extra, b"y" * 38)

    ctx = RowContext(RegionTable.load(), "610626", date(2026, 7, 1), KEY)
    watch = RssWatch()
    errors: ErrorSample[tuple[int, str, str]] = ErrorSample(1000)
    reader = FeedReader(chunks_of(lines_of(HEADER, row, 30 * MB), watch), "medical", "csv", None)
    async for line, parsed in reader.rows():
        if isinstance(parsed, str):
            errors.add((line, "line", parsed))
            continue
        try:
            validate_row("medical", parsed, ctx)
        except RowError as exc:
            errors.add((line, exc.field, exc.message))
    watch.sample()
    rows = (reader.bytes_read - len(HEADER)) * 2 // (len(row(0)) + len(row(1)))
    assert reader.bytes_read >= 30 * MB and errors.total == rows
    assert errors.kept == 1000 and [e[:2] for e in errors.items[:2]] == [(2, "id_number"), (3, "line")]
    assert watch.growth < 50 * MB, f"RSS grew {watch.growth / MB:.0f} MB"


async def test_a_quote_never_closed_is_refused_without_holding_the_rest_of_the_file():
    # Before: the reader waited for the closing quote, holding (and re-counting) the whole 30 MB.
    watch = RssWatch()
    rows = lines_of(HEADER + b'"610626195603120011,610626101,2026-07-01,100,0\n', lambda n: b"a,b,c,d,e\n", 30 * MB)
    reader = FeedReader(chunks_of(rows, watch), "medical", "csv", None)
    with pytest.raises(BadFile) as caught:
        async for _ in reader.rows():
            pass
    assert "quoted field runs on" in caught.value.message and reader.bytes_read < 1 * MB
    assert watch.growth < 50 * MB


@pytest.mark.parametrize(
    ("content", "fmt", "words"),
    [
        (b"", "csv", "the file is empty"),
        (HEADER, "csv", "no rows after the header"),
        (HEADER + b"\n\n", "csv", "no rows after the header"),
        (b"", "jsonl", "the file is empty"),
        (b"\n  \n", "jsonl", "no rows"),
    ],
)
async def test_a_file_without_rows_is_refused(content, fmt, words):
    problem = await _refusal(content, fmt)
    assert problem.field == "body" and words in problem.message


async def test_a_header_with_ten_thousand_extra_columns_is_refused_naming_some_and_counting_the_rest():
    header = HEADER.rstrip(b"\n") + b"," + b",".join(b"extra%d" % i for i in range(9996)) + b"\n"
    problem = await _refusal(header + b"1,2,3\n")
    assert problem.field == "header"
    assert "unknown column(s) extra0, extra1" in problem.message and "and 9986 more" in problem.message
    assert len(problem.message) < 500


def test_headers_are_exactly_the_kinds_columns():
    assert check_header("medical", ["id_number", "region_code", "settled_on", "out_of_pocket_fen"]) == []
    assert check_header("death", ["id_number", "region_code", "death_date", "death_date"]) == [
        "column(s) death_date appear more than once"
    ]
    assert check_header("death", ["\ufeffid_number", " region_code ", "death_date"]) == []
