"""Hostile and careless bank return files (services/payments/batches/returns.py) against the real payments app and
PostgreSQL: a NUL in a reason, a header of ten thousand extra columns, a header alone, and thousands of unknown
payment ids are each a 422 naming what is wrong (the first errors listed, all counted), and change nothing."""

from __future__ import annotations

import uuid

import pytest

from services.payments.batches.returns import MAX_REPORTED
from shared.core.period import Period
from tests.conftest import bearer
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

P = Period(2026, 4)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")
HEADER = "payment_id,amount_yuan,result,reason\n"


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db)


async def _exported(api, tokens, kit) -> tuple[str, list[dict]]:
    """A batch of two lines with the bank: its id and its bank file's rows."""
    region = village()
    for amount in (50_000, 60_000):
        await kit.approve(region, amount, P)
    pay = api("payments")
    batch = await kit.exported(pay, region, P, tokens["finance"], OTHER_FINANCE)
    rows = bank_rows((await pay.get(f"/batches/{batch}/bank-file", headers=tokens["finance"])).content)
    assert len(rows) == 2
    return batch, rows


async def _post(api, tokens, batch: str, content: bytes):
    return await api("payments").post(
        f"/batches/{batch}/returns", files={"file": ("r.csv", content)}, headers=tokens["finance"]
    )


async def _pending(api, tokens, batch: str) -> int:
    r = await api("payments").get(f"/batches/{batch}", headers=tokens["finance"])
    return r.json()["reconciliation"]["pending_count"]


async def test_bad_files_are_refused_naming_what_is_wrong_and_change_nothing(api, tokens, kit):
    batch, rows = await _exported(api, tokens, kit)
    paid = (rows[0]["payment_id"], rows[0]["amount_yuan"], "paid", "")

    # A NUL (PostgreSQL text cannot hold it: this was a 500) or any control character in the reason.
    failed = (rows[1]["payment_id"], rows[1]["amount_yuan"], "failed", "账户\x00已销户")
    r = await _post(api, tokens, batch, return_file([paid, failed]))
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"row": "3", "field": "rows[3].reason", "message": "holds a control character"}]

    extra = HEADER.rstrip("\n") + "," + ",".join(f"x{i}" for i in range(9996)) + "\n"
    for content, words in (
        (extra + ",".join(paid) + "\n", "unknown column(s) x0, x1"),
        (HEADER, "no result rows after the header"),
        ("", "the file is empty"),
        ("payment_id,amount_yuan,result,result\n" + ",".join(paid) + "\n", "result appear more than once"),
    ):
        r = await _post(api, tokens, batch, content.encode())
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["field"] == "file" and words in error["message"] and len(error["message"]) < 500, error

    assert await _pending(api, tokens, batch) == 2


async def test_an_amount_of_full_width_or_arabic_indic_digits_is_refused_naming_row_and_field(api, tokens, kit):
    """Decimal read １０００.００ as 1000.00: the line was settled. Digits are 0-9 only; nothing is applied."""
    batch, rows = await _exported(api, tokens, kit)
    for script in (str.maketrans("0123456789", "０１２３４５６７８９"), str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")):
        good = (rows[0]["payment_id"], rows[0]["amount_yuan"], "paid", "")
        other = (rows[1]["payment_id"], rows[1]["amount_yuan"].translate(script), "paid", "")
        r = await _post(api, tokens, batch, return_file([good, other]))
        assert r.status_code == 422, r.text
        assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [("3", "rows[3].amount_yuan")]
    assert await _pending(api, tokens, batch) == 2


async def test_thousands_of_unknown_ids_list_the_first_errors_and_count_them_all(api, tokens, kit):
    batch, rows = await _exported(api, tokens, kit)
    unknown = [(str(uuid.uuid4()), "1.00", "paid", "") for _ in range(5000)]
    # Row 2 a good line, then a malformed row, then the unknown ids: parse and SQL errors merged in row order.
    content = return_file(
        [(rows[0]["payment_id"], rows[0]["amount_yuan"], "paid", ""), ("x", "1", "paid", ""), *unknown]
    )
    r = await _post(api, tokens, batch, content)
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["bad_rows"], body["errors_not_listed"]) == (5001, 5001 - MAX_REPORTED)
    assert len(body["errors"]) == MAX_REPORTED
    assert body["errors"][:2] == [
        {"row": "3", "field": "rows[3].payment_id", "message": "not a payment id (UUID)"},
        {"row": "4", "field": "rows[4].payment_id", "message": "unknown payment id"},
    ]
    assert [int(e["row"]) for e in body["errors"]] == [3, *range(4, 4 + MAX_REPORTED - 1)]
    assert await _pending(api, tokens, batch) == 2

    r = await _post(api, tokens, batch, return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))
    assert r.status_code == 200 and r.json()["reconciliation"]["pending_count"] == 0, r.text
