"""扣回 against real PostgreSQL: an overpayment recovered by deduction from later months. A regular batch pays each
person's balance less what is open in their overpayments, at most half of each line (`PAYMENTS_RECOVERY_PERCENT`,
50 by default), oldest overpaid month first; each deduction is recorded against its overpayment, so a line that
fails, or a batch cancelled before export, gives it back. Every figure is fen per person and month, by hand."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from shared.core.period import Period
from tests.helpers import walk
from tests.integration.test_payments_balance import OTHER_FINANCE, _approved, _paid, _request, _send
from tests.payments_kit import PaymentsKit, return_file, village

M = Period(2026, 3)


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.deduction-tests")


async def _lines(api, tokens, batch: dict) -> list[tuple[str, str, int, int]]:
    """(month, kind, fen the bank pays, fen withheld) of the batch's live lines."""
    lines = await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"])
    return sorted(
        (x["period"], x["kind"], x["amount_fen"], x["deducted_fen"]) for x in lines if x["status"] != "cancelled"
    )


async def _overpayments(api, tokens, hh: uuid.UUID) -> list[tuple[str, int, str, str | None]]:
    """(month, fen, status, closed_reason) of the household's overpayments, as finance lists them."""
    found = await walk(api("payments"), "/overpayments", tokens["finance"], {"household_id": str(hh)})
    return sorted((o["period"], o["amount_fen"], o["status"], o["closed_reason"]) for o in found)


async def _deductions(db, hh: uuid.UUID) -> list[tuple[str, str, int, str]]:
    """(overpaid month, month of the line that withheld it, fen, that line's status) of the household's deductions."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT to_char(d.period, 'YYYY-MM'), to_char(l.period, 'YYYY-MM'), d.amount_fen, l.status "
                "FROM payments.deductions d JOIN payments.payment_lines l ON l.id = d.line_id "
                "WHERE d.household_id = :h"
            ),
            {"h": hh},
        )
        return sorted(tuple(r) for r in rows)


async def test_a_regular_batch_withholds_at_most_half_a_line_oldest_month_first_and_a_failed_line_gives_it_back(
    api, tokens, kit, db
):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    await _send(api, tokens, await _request(api, tokens, kit, region, M.next()))
    # Lowered to 500.00 from March after March and April were paid at 680.00: 180.00 a month to recover.
    await kit.schedule(case_id, hh, region, M, [(M, None, 50_000)], reason="review")
    march, april, may, june = (str(M.plus(i)) for i in range(4))
    assert await _overpayments(api, tokens, hh) == [(march, 18_000, "open", None), (april, 18_000, "open", None)]

    # May: 500.00 owed, at most 250.00 withheld: March's 180.00 whole and 70.00 of April's; the bank pays 250.00.
    may_batch = await _request(api, tokens, kit, region, M.plus(2))
    assert (may_batch["recovery_percent"], may_batch["line_count"], may_batch["total_fen"]) == (50, 1, 25_000)
    assert await _lines(api, tokens, may_batch) == [(may, "regular", 25_000, 25_000)]
    assert await _deductions(db, hh) == [(march, may, 18_000, "pending"), (april, may, 7_000, "pending")]
    assert await _overpayments(api, tokens, hh) == [
        (march, 18_000, "closed", "recovered"),
        (april, 18_000, "open", None),  # 110.00 of it still to recover
    ]

    # The bank returns May's line failed: nothing was paid for May, so nothing was withheld from it either.
    await _send(api, tokens, may_batch, "failed", "账户冻结")
    assert await _overpayments(api, tokens, hh) == [(march, 18_000, "open", None), (april, 18_000, "open", None)]
    assert [d[3] for d in await _deductions(db, hh)] == ["failed", "failed"]

    # June pays May again (补发) and June, each withholding at most half of its line: May's 250.00 covers March's
    # 180.00 and 70.00 of April's, June's withholds April's other 110.00.
    june_batch = await _request(api, tokens, kit, region, M.plus(3))
    assert await _lines(api, tokens, june_batch) == [
        (may, "arrears", 25_000, 25_000),
        (june, "regular", 39_000, 11_000),
    ]
    assert june_batch["total_fen"] == 64_000
    await _send(api, tokens, june_batch)
    assert await _overpayments(api, tokens, hh) == [
        (march, 18_000, "closed", "recovered"),
        (april, 18_000, "closed", "recovered"),
    ]
    assert await _deductions(db, hh) == [
        (march, may, 18_000, "failed"),
        (march, may, 18_000, "paid"),
        (april, may, 7_000, "failed"),
        (april, may, 7_000, "paid"),
        (april, june, 11_000, "paid"),
    ]
    # What the bank paid, per month; with what was withheld, each month has exactly what it is owed: March and April
    # 680.00 − 180.00 recovered = 500.00; May 250.00 + 250.00 withheld; June 390.00 + 110.00 withheld.
    assert await _paid(db, hh) == {march: 68_000, april: 68_000, may: 25_000, june: 39_000}
    # July: 500.00, nothing withheld, nothing owed for earlier months.
    july = await _request(api, tokens, kit, region, M.plus(4))
    assert await _lines(api, tokens, july) == [(str(M.plus(4)), "regular", 50_000, 0)]


async def test_a_cancelled_batch_gives_its_deductions_back_and_a_restoring_decision_pays_them(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    await kit.schedule(case_id, hh, region, M, [(M, None, 60_000)], reason="review")
    march, april, may = str(M), str(M.next()), str(M.plus(2))
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "open", None)]

    # April withholds March's 80.00 (within half of 600.00): the bank is to pay 520.00.
    first = await _request(api, tokens, kit, region, M.next())
    assert await _lines(api, tokens, first) == [(april, "regular", 52_000, 8_000)]
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "closed", "recovered")]
    # Cancelled before export: the deduction is given back, the overpayment is open again.
    r = await api("payments").post(f"/batches/{first['id']}/cancel", json={"reason": "重做"}, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "open", None)]
    assert await _deductions(db, hh) == [(march, april, 8_000, "cancelled")]

    # Built again: the same deduction once, paid.
    again = await _request(api, tokens, kit, region, M.next())
    assert await _lines(api, tokens, again) == [(april, "regular", 52_000, 8_000)]
    await _send(api, tokens, again)
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "closed", "recovered")]
    assert await _paid(db, hh) == {march: 68_000, april: 52_000}

    # The review is corrected: 680.00 from March. The 80.00 withheld from April is owed back to March, and April
    # itself is owed 80.00 more: May's batch pays both as 补发, beside May, and withholds nothing.
    await kit.schedule(case_id, hh, region, M, [(M, None, 68_000)], reason="correction")
    may_batch = await _request(api, tokens, kit, region, M.plus(2))
    assert await _lines(api, tokens, may_batch) == [
        (march, "arrears", 8_000, 0),
        (april, "arrears", 8_000, 0),
        (may, "regular", 68_000, 0),
    ]
    await _send(api, tokens, may_batch)
    assert await _paid(db, hh) == {march: 76_000, april: 60_000, may: 68_000}
    assert [o for o in await _overpayments(api, tokens, hh) if o[2] == "open"] == []


async def test_a_partly_deducted_overpayment_repaid_is_the_rest_repaid(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    # Lowered to 200.00 from March after it was paid: 480.00 to recover; April withholds half of 200.00.
    await kit.schedule(case_id, hh, region, M, [(M, None, 20_000)], reason="review")
    april = await _request(api, tokens, kit, region, M.next())
    assert await _lines(api, tokens, april) == [(str(M.next()), "regular", 10_000, 10_000)]
    await _send(api, tokens, april)
    [over] = await walk(
        api("payments"), "/overpayments", tokens["finance"], {"status": "open", "household_id": str(hh)}
    )
    # The household repays the rest at the township office: 380.00. The 100.00 withheld stays recovered.
    r = await api("payments").post(
        f"/overpayments/{over['id']}/repaid", json={"reason": "收据 0007"}, headers=tokens["finance"]
    )
    assert (r.status_code, r.json()["amount_fen"], r.json()["closed_reason"]) == (200, 38_000, "repaid")
    assert await _overpayments(api, tokens, hh) == [
        (str(M), 10_000, "closed", "recovered"),
        (str(M), 38_000, "closed", "repaid"),
    ]
    # May: 200.00, nothing withheld, nothing for March or April.
    may = await _request(api, tokens, kit, region, M.plus(2))
    assert await _lines(api, tokens, may) == [(str(M.plus(2)), "regular", 20_000, 0)]


async def _april_overpaid_by_a_late_review(api, tokens, kit) -> tuple[str, uuid.UUID, dict, list[dict]]:
    """680.00 paid for March and April, then a review decided late: 730.00 for March, nothing from April. (region,
    household, April's batch, April's bank-file rows)."""
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    april_batch = await _request(api, tokens, kit, region, M.next())
    april_rows = await _send(api, tokens, april_batch)
    await kit.schedule(case_id, hh, region, M, [(M, M, 73_000)], reason="review")
    assert await _overpayments(api, tokens, hh) == [(str(M.next()), 68_000, "open", None)]
    return region, hh, april_batch, april_rows


async def test_money_withheld_for_a_month_the_bank_then_reversed_is_paid_back(api, tokens, kit, db):
    # Found by the payments simulation (seed 3431141637): the month a deduction recovered is owed nothing, so the
    # balance, read from what is owed, never looked at it when the overpayment went away.
    region, hh, april_batch, april_rows = await _april_overpaid_by_a_late_review(api, tokens, kit)
    march, april = str(M), str(M.next())
    # May: March's 50.00 of back-pay, half of it withheld for April's 680.00.
    may_batch = await _request(api, tokens, kit, region, M.plus(2))
    assert await _lines(api, tokens, may_batch) == [(march, "arrears", 2_500, 2_500)]
    await _send(api, tokens, may_batch)
    assert await _deductions(db, hh) == [(april, march, 2_500, "paid")]

    # 退汇: April's 680.00 comes back from the recipient's bank. Nothing was overpaid for April after all, so the
    # 25.00 withheld for it is the person's: June pays it back (June itself is owed nothing).
    back = return_file([(april_rows[0]["payment_id"], april_rows[0]["amount_yuan"], "reversed", "收款行退回")])
    r = await api("payments").post(
        f"/batches/{april_batch['id']}/returns", files={"file": ("r.csv", back)}, headers=tokens["finance"]
    )
    assert r.status_code == 200, r.text
    assert [o for o in await _overpayments(api, tokens, hh) if o[2] == "open"] == []
    june_batch = await _request(api, tokens, kit, region, M.plus(3))
    assert await _lines(api, tokens, june_batch) == [(april, "arrears", 2_500, 0)]
    await _send(api, tokens, june_batch)
    # The bank paid 680.00 + 25.00 for March and 25.00 given back for April: 730.00, what March is owed, and
    # nothing for April.
    assert await _paid(db, hh) == {march: 70_500, april: 2_500}
    assert sum((await _paid(db, hh)).values()) == 73_000
    assert not [o for o in await _overpayments(api, tokens, hh) if o[2] == "open"]


async def test_a_batch_not_yet_at_the_bank_stops_withholding_for_a_month_the_bank_reversed(api, tokens, kit, db):
    # The sequence above, but May's batch is approved and waiting for export when April's 退汇 comes: the batch
    # follows the return as it follows a decision, and May pays March's whole 50.00 (nothing is left to recover).
    region, hh, april_batch, april_rows = await _april_overpaid_by_a_late_review(api, tokens, kit)
    march, april = str(M), str(M.next())
    may_batch = await _request(api, tokens, kit, region, M.plus(2))
    assert await _lines(api, tokens, may_batch) == [(march, "arrears", 2_500, 2_500)]
    pay = api("payments")
    r = await pay.post(f"/batches/{may_batch['id']}/approve", headers=OTHER_FINANCE)
    assert r.status_code == 200, r.text

    back = return_file([(april_rows[0]["payment_id"], april_rows[0]["amount_yuan"], "reversed", "收款行退回")])
    r = await pay.post(
        f"/batches/{april_batch['id']}/returns", files={"file": ("r.csv", back)}, headers=tokens["finance"]
    )
    assert r.status_code == 200, r.text
    assert [o for o in await _overpayments(api, tokens, hh) if o[2] == "open"] == []
    # May's batch holds March's 50.00 whole, withholds nothing, and goes back for approval: its total changed.
    assert await _lines(api, tokens, may_batch) == [(march, "arrears", 5_000, 0)]
    followed = (await pay.get(f"/batches/{may_batch['id']}", headers=tokens["finance"])).json()
    assert (followed["status"], followed["line_count"], followed["total_fen"]) == ("built", 1, 5_000)
    assert await _deductions(db, hh) == [(april, march, 2_500, "cancelled")]

    await _send(api, tokens, followed)
    # March 680.00 + 50.00 = 730.00, what it is owed; April nothing (owed nothing, its 680.00 went back).
    assert await _paid(db, hh) == {march: 73_000}
    june_batch = await _request(api, tokens, kit, region, M.plus(3))
    assert await _lines(api, tokens, june_batch) == []


async def test_a_batch_built_before_a_death_withholds_for_the_month_the_death_overpaid_as_if_built_after(
    api, tokens, kit, db
):
    # Found by a finance office's test: the batch followed the decision before the overpayment it makes was
    # recorded, so the batch built first withheld nothing and the one built after the decision withheld half.
    march, april, may = str(M), str(M.next()), str(M.plus(2))
    withheld = {}
    for order in ("built before", "built after"):
        region = village()
        case_id, hh = await _approved(kit, region, 68_000, M)
        await _send(api, tokens, await _request(api, tokens, kit, region, M))
        await _send(api, tokens, await _request(api, tokens, kit, region, M.next()))
        if order == "built before":
            may_batch = await _request(api, tokens, kit, region, M.plus(2))
            assert await _lines(api, tokens, may_batch) == [(may, "regular", 68_000, 0)]
        # A member died in March: 300.00 a month for the one left from April, after April was paid at 680.00.
        await kit.schedule(case_id, hh, region, M.next(), [(M.next(), None, 30_000)], reason="death")
        assert await _overpayments(api, tokens, hh) == [(april, 38_000, "open", None)]
        if order == "built after":
            may_batch = await _request(api, tokens, kit, region, M.plus(2))
        # May: 300.00 owed, half of it (150.00) withheld for April's 380.00; the bank pays 150.00.
        assert await _lines(api, tokens, may_batch) == [(may, "regular", 15_000, 15_000)], order
        assert await _deductions(db, hh) == [(april, may, 15_000, "pending")]
        followed = (await api("payments").get(f"/batches/{may_batch['id']}", headers=tokens["finance"])).json()
        assert (followed["line_count"], followed["total_fen"]) == (1, 15_000)
        await _send(api, tokens, followed)
        withheld[order] = await _paid(db, hh)
        assert withheld[order] == {march: 68_000, april: 68_000, may: 15_000}
        assert await _overpayments(api, tokens, hh) == [(april, 38_000, "open", None)]  # 230.00 of it still to go


async def test_a_decision_restoring_the_amount_before_the_withholding_batch_is_exported_withholds_nothing(
    api, tokens, kit, db
):
    # Found by a finance office's test: the batch kept withholding the overpayment the decision had just undone,
    # the overpayment closed `recovered`, and a later batch paid the money back.
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    march, april = str(M), str(M.next())
    await kit.schedule(case_id, hh, region, M, [(M, None, 60_000)], reason="review")
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "open", None)]
    april_batch = await _request(api, tokens, kit, region, M.next())
    assert await _lines(api, tokens, april_batch) == [(april, "regular", 52_000, 8_000)]

    # Corrected while April's batch waits: 680.00 from March again. March was paid what it is owed: nothing to
    # recover; April pays 680.00 whole.
    await kit.schedule(case_id, hh, region, M, [(M, None, 68_000)], reason="correction")
    assert await _overpayments(api, tokens, hh) == [(march, 8_000, "closed", "restored")]
    assert await _lines(api, tokens, april_batch) == [(april, "regular", 68_000, 0)]
    followed = (await api("payments").get(f"/batches/{april_batch['id']}", headers=tokens["finance"])).json()
    await _send(api, tokens, followed)
    assert await _paid(db, hh) == {march: 68_000, april: 68_000}
    # May: 680.00 and nothing else — no money given back for a withholding that never happened.
    may_batch = await _request(api, tokens, kit, region, M.plus(2))
    assert await _lines(api, tokens, may_batch) == [(str(M.plus(2)), "regular", 68_000, 0)]
