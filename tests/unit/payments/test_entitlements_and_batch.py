"""Pure domain logic of payments: the entitlement history and the disbursement batch's steps."""

from __future__ import annotations

import pytest

from services.payments.batches.domain import BatchKind, BatchStatus, DisbursementBatch, Settlement
from services.payments.batches.files import parse_return_row
from services.payments.roll.domain import EntitlementRow, amount_for, end_after, set_amount
from shared.core.money import yuan
from shared.core.period import Period
from shared.errors import Conflict, TwoPersonRule
from shared.events.catalogue import BatchApproved, BatchCreated, BatchExported, BatchReconciled

JUL, AUG, SEP, OCT = Period(2026, 7), Period(2026, 8), Period(2026, 9), Period(2026, 10)


def _apply(rows: list[EntitlementRow], change) -> list[EntitlementRow]:
    kept = [r for r in rows if r.id not in change.superseded]
    start = max((r.id or 0 for r in rows), default=0)
    return sorted(
        kept
        + [
            EntitlementRow(r.from_month, r.to_month, r.monthly_amount_fen, start + i + 1)
            for i, r in enumerate(change.added)
        ],
        key=lambda r: r.from_month,
    )


def test_a_backdated_change_rewrites_only_the_months_from_its_effect():
    rows = _apply([], set_amount([], JUL, 33_000, None))
    rows = _apply(rows, set_amount(rows, SEP, 35_000, None))  # review in September
    assert [amount_for(rows, m) for m in (JUL, AUG, SEP, OCT)] == [33_000, 33_000, 35_000, 35_000]
    rows = _apply(rows, set_amount(rows, AUG, 37_000, None))  # 提标 decided later, effective August: wins from then
    assert [amount_for(rows, m) for m in (JUL, AUG, SEP, OCT)] == [33_000, 37_000, 37_000, 37_000]
    assert amount_for(rows, Period(2026, 6)) == 0


def test_an_end_keeps_its_month_and_nothing_after():
    rows = _apply([], set_amount([], JUL, 50_000, None))
    rows = _apply(rows, end_after(rows, AUG))  # died in August: August is still owed
    assert [amount_for(rows, m) for m in (JUL, AUG, SEP)] == [50_000, 50_000, 0]
    rows = _apply(rows, set_amount(rows, SEP, 60_000, AUG))  # a later change cannot revive an ended entitlement
    assert amount_for(rows, SEP) == 0 and amount_for(rows, AUG) == 50_000


def _built(by: str = "finance-a") -> DisbursementBatch:
    batch = DisbursementBatch.request(BatchKind.REGULAR, "610626", JUL, by)
    batch.built(3, 150_000)
    return batch


def test_batch_steps_raise_their_events_and_keep_two_people():
    batch = DisbursementBatch.request(BatchKind.REGULAR, "610626", JUL, "finance-a")
    assert isinstance(batch.events[0], BatchCreated)
    with pytest.raises(Conflict):
        batch.approve("finance-b")  # still building
    batch.built(3, 150_000)
    with pytest.raises(TwoPersonRule) as err:
        batch.approve("finance-a")
    assert err.value.status == 403 and "two-person rule" in err.value.detail
    with pytest.raises(Conflict):
        batch.export()
    batch.approve("finance-b")
    assert batch.export() is True and batch.export() is False  # a second download changes nothing
    with pytest.raises(Conflict):
        batch.cancel("finance-a")
    batch.settle(Settlement(3, 150_000, 2, 100_000, 0, 0))
    assert batch.status is BatchStatus.EXPORTED  # one line still pending
    batch.settle(Settlement(3, 150_000, 2, 100_000, 1, 50_000))
    assert batch.status is BatchStatus.RECONCILED
    assert [type(e) for e in batch.events] == [BatchCreated, BatchApproved, BatchExported, BatchReconciled]


def test_cancel_before_export():
    batch = _built()
    batch.cancel("finance-b")
    assert batch.status is BatchStatus.CANCELLED and batch.cancelled_by == "finance-b"
    with pytest.raises(Conflict):
        batch.approve("finance-c")


@pytest.mark.parametrize(
    ("row", "fields"),
    [
        (["x", "1.00", "paid"], {"payment_id"}),
        (["6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13", "1.001", "paid"], {"amount_yuan"}),
        (["6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13", "NaN", "paid"], {"amount_yuan"}),
        (["6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13", "1.00", "failed"], {"reason"}),
        (["6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13", "1.00", "ok", ""], {"result"}),
        (["only-one"], {"row"}),
    ],
)
def test_bad_return_rows_name_row_and_field(row, fields):
    parsed, errors = parse_return_row(7, row)
    assert parsed is None and {e["field"].removeprefix("rows[7].") for e in errors} == fields
    assert all(e["row"] == "7" for e in errors)


def test_amounts_in_yuan_from_fen():
    assert (yuan(150_000), yuan(5), yuan(0)) == ("1500.00", "0.05", "0.00")
    assert parse_return_row(2, ["6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13", "1500.5", "paid"])[0][1] == 150_050
