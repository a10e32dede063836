"""Reading a bank return file (services/payments/batches/returns.py `ReturnFile`) in bounded memory whatever its
size or badness: the first errors kept and the rest counted, strict headers, control characters named by row and
field. The answers through the API (422, nothing applied) are in tests/integration/test_payments_returns.py."""

from __future__ import annotations

import io
import uuid

import pytest

from services.payments.batches.returns import MAX_LINE_BYTES, MAX_REPORTED, ReturnFile
from shared.errors import InvalidInput
from tests.upload_kit import MB, GeneratedFile, RssWatch, lines_of

HEADER = b"payment_id,amount_yuan,result,reason\n"


def _read(content: bytes) -> tuple[list[tuple], ReturnFile]:
    parsed = ReturnFile(io.BytesIO(content))
    return [row for chunk in parsed.chunks() for row in chunk], parsed


def _refusal(content: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        _read(content)
    [error] = caught.value.errors
    assert error["field"] == "file"
    return error["message"]


def test_thirty_megabytes_of_malformed_rows_are_read_in_bounded_memory():
    # Before: every error kept (three a row) — 30 MB of such rows 40 bytes long took the parse to ~800 MB more.
    def row(n: int) -> bytes:
        return b"not-a-payment-id-%08d,12.345,maybe,%s\n" % (n, "账户状态异常".encode() * 4 + b"x" * 20)

    watch = RssWatch()
    file = io.BufferedReader(GeneratedFile(lambda: lines_of(HEADER, row, 30 * MB), watch))
    parsed = ReturnFile(file)
    assert [chunk for chunk in parsed.chunks()] == []
    watch.sample()
    rows = (30 * MB - len(HEADER) + len(row(0)) - 1) // len(row(0))
    assert parsed.rows == rows
    assert (parsed.errors.total, parsed.errors.kept, parsed.errors.omitted) == (3 * rows, MAX_REPORTED, 3 * rows - 200)
    assert [(e["row"], e["field"]) for e in parsed.errors.items[:3]] == [
        ("2", "rows[2].payment_id"),
        ("2", "rows[2].amount_yuan"),
        ("2", "rows[2].result"),
    ]
    assert watch.growth < 50 * MB, f"RSS grew {watch.growth / MB:.0f} MB"


def test_a_nul_byte_or_any_control_character_is_an_error_naming_row_and_field():
    pid = uuid.uuid4()
    content = HEADER + f"{pid},10.00,failed,账户\x00已销户\n{uuid.uuid4()},1.00,paid,\x1b[2J\n".encode()
    rows, parsed = _read(content)
    assert rows == [] and parsed.rows == 2
    assert parsed.errors.items == [
        {"row": "2", "field": "rows[2].reason", "message": "holds a control character"},
        {"row": "3", "field": "rows[3].reason", "message": "holds a control character"},
    ]


def test_good_rows_come_through_with_tabs_and_line_breaks_in_a_quoted_reason():
    pid = uuid.uuid4()
    rows, parsed = _read(HEADER + f'{pid},10.00,failed,"户名\t不符\r\n请核对"\n'.encode())
    assert rows == [(2, pid, 1000, "failed", "户名\t不符\r\n请核对")] and parsed.errors.total == 0


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (HEADER.rstrip(b"\n") + b"," + b",".join(b"x%d" % i for i in range(9996)) + b"\n", "x0, x1"),
        (b"payment_id,amount_yuan,result,reason,reason\n", "reason appear more than once"),
        (b"payment_id,amount_yuan,result,remark\n", "unknown column(s) remark"),
        (b"payment_id,amount_yuan\n", "missing column(s) result"),
        (b"amount_yuan,payment_id,result,reason\n", "in the order"),
    ],
)
def test_the_header_must_be_exactly_the_expected_columns(header, words):
    message = _refusal(header + f"{uuid.uuid4()},1.00,paid,\n".encode())
    assert words in message and len(message) < 500
    if b"x9995" in header:
        assert "and 9986 more" in message


def test_an_empty_file_is_refused_and_a_header_alone_has_no_rows():
    assert _refusal(b"") == "the file is empty"
    rows, parsed = _read(HEADER + b"\n,,,\n")
    assert rows == [] and parsed.rows == 0  # the endpoint answers 422 (tests/integration/test_payments_returns.py)


def test_the_header_may_leave_out_the_reason():
    pid = uuid.uuid4()
    rows, _ = _read(f"payment_id,amount_yuan,result\n{pid},1.00,paid\n".encode())
    assert rows == [(2, pid, 100, "paid", None)]


def test_a_line_longer_than_any_return_row_is_refused_before_it_is_held():
    message = _refusal(HEADER + b"," * (MAX_LINE_BYTES + 10))
    assert message == f"line 2 is longer than {MAX_LINE_BYTES} bytes"
