"""Owed, paid, balance against real PostgreSQL: the sequences reported in issue 16 on the payments side, driven as
eligibility sends them (`case.approved` with its `case.schedule_changed`) through payments' real consumer, batches
built by the real job and settled through the API. Every figure is fen per person and month, worked out by hand."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from shared.core.period import Period
from shared.events.catalogue import PayeeChanged
from tests.conftest import bearer
from tests.helpers import walk
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

M = Period(2026, 3)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.balance-tests")


async def _approved(kit: PaymentsKit, region: str, fen: int, start: Period, persons: int = 2):
    """An approval as eligibility sends it: `case.approved` (enrolment, payee) and the case's first schedule."""
    case_id, hh = await kit.approve(region, fen, start, persons=persons)
    await kit.schedule(case_id, hh, region, start, [(start, None, fen)], persons=persons, reason="approval")
    return case_id, hh


async def _request(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    pay = api("payments")
    r = await pay.post(
        "/batches", json={"region_code": region, "period": str(period), "kind": kind}, headers=tokens["finance"]
    )
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return (await pay.get(f"/batches/{r.json()['id']}", headers=tokens["finance"])).json()


async def _lines(api, tokens, batch: dict) -> list[dict]:
    lines = await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"])
    return [x for x in lines if x["status"] != "cancelled"]


async def _send(api, tokens, batch: dict, result: str = "paid", reason: str = "") -> list[dict]:
    """Approve (another officer), export, and return every line the bank file holds with `result`."""
    pay = api("payments")
    if batch["status"] == "built":
        r = await pay.post(f"/batches/{batch['id']}/approve", headers=OTHER_FINANCE)
        assert r.status_code == 200, r.text
    assert (await pay.post(f"/batches/{batch['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{batch['id']}/bank-file", headers=tokens["finance"])).content)
    r = await pay.post(
        f"/batches/{batch['id']}/returns",
        headers=tokens["finance"],
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], result, reason) for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return rows


async def _at_the_bank(api, tokens, batch: dict) -> list[dict]:
    """Approve (another officer) and export: the bank file's rows, nothing returned yet."""
    pay = api("payments")
    assert (await pay.post(f"/batches/{batch['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch['id']}/export", headers=tokens["finance"])).status_code == 200
    return bank_rows((await pay.get(f"/batches/{batch['id']}/bank-file", headers=tokens["finance"])).content)


async def _returned_failed(api, tokens, batch: dict, row: dict) -> None:
    """The bank returns one line of the batch failed."""
    back = return_file([(row["payment_id"], row["amount_yuan"], "failed", "账户冻结")])
    r = await api("payments").post(
        f"/batches/{batch['id']}/returns", headers=tokens["finance"], files={"file": ("r.csv", back)}
    )
    assert r.status_code == 200, r.text


async def _paid(db, household: uuid.UUID) -> dict[str, int]:
    """Fen the bank confirmed for the household, per month."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT to_char(period, 'YYYY-MM'), sum(amount_fen) FROM payments.payment_lines "
                "WHERE household_id = :h AND status = 'paid' GROUP BY period"
            ),
            {"h": household},
        )
        return {p: int(f) for p, f in rows}


async def _sent(db, household: uuid.UUID) -> dict[str, int]:
    """Fen holding money for the household per month: paid, with the bank, or in a batch not yet exported."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT to_char(period, 'YYYY-MM'), sum(amount_fen) FROM payments.payment_lines "
                "WHERE household_id = :h AND status IN ('pending', 'paid') GROUP BY period"
            ),
            {"h": household},
        )
        return {p: int(f) for p, f in rows}


def _by_household(lines: list[dict]) -> dict[str, list[tuple[str, str, int]]]:
    out: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for x in lines:
        out[x["household_id"]].append((x["period"], x["kind"], x["amount_fen"]))
    return {h: sorted(v) for h, v in out.items()}


async def test_3_a_late_approval_is_paid_its_first_month_as_arrears_by_the_next_batch(api, tokens, kit, db):
    region = village()
    _, early = await _approved(kit, region, 68_000, M)
    march = await _request(api, tokens, kit, region, M)
    await _send(api, tokens, march)
    # Decided a few days late: on the roll from March, after March's batch went to the bank.
    _, late = await _approved(kit, region, 68_000, M)
    again = await api("payments").post(
        "/batches", json={"region_code": region, "period": str(M)}, headers=tokens["finance"]
    )
    assert again.status_code == 200 and again.json()["id"] == march["id"]  # March's batch is the one there is
    april = await _request(api, tokens, kit, region, M.next())
    assert _by_household(await _lines(api, tokens, april)) == {
        str(early): [(str(M.next()), "regular", 68_000)],
        str(late): [(str(M), "arrears", 68_000), (str(M.next()), "regular", 68_000)],
    }
    rows = bank_rows(await _send_file(api, tokens, april))
    assert sorted(r["memo"] for r in rows if r["period"] == str(M)) == [f"{M} 最低生活保障金(补发)"]
    assert await _paid(db, late) == {str(M): 68_000, str(M.next()): 68_000}
    assert await _paid(db, early) == {str(M): 68_000, str(M.next()): 68_000}
    # The statistics tell March's regular money from March's 补发.
    r = await api("payments").get("/statistics", params={"region": region, "period": str(M)}, headers=tokens["auditor"])
    [dibao] = r.json()["programmes"]
    assert (dibao["money_fen"], dibao["arrears_fen"], dibao["households"]) == (2 * 68_000, 68_000, 2)


async def _send_file(api, tokens, batch: dict) -> bytes:
    await _send(api, tokens, batch)
    return (await api("payments").get(f"/batches/{batch['id']}/bank-file", headers=tokens["finance"])).content


async def test_4_a_rise_then_a_supplement_then_a_rebuilt_month_pays_the_month_exactly_once(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    march = await _request(api, tokens, kit, region, M)
    assert (march["line_count"], march["total_fen"]) == (1, 68_000)
    # 提标 to 730.00 from March, while March's batch is built and not exported: the batch follows it.
    await kit.schedule(case_id, hh, region, M, [(M, None, 73_000)], reason="standard_rise")
    followed = (await api("payments").get(f"/batches/{march['id']}", headers=tokens["finance"])).json()
    assert (followed["status"], followed["line_count"], followed["total_fen"]) == ("built", 1, 73_000)
    # 提标补发 in April: nothing, March's batch already holds the whole 730.00.
    supplement = await _request(api, tokens, kit, region, M.next(), "supplement")
    assert (supplement["line_count"], supplement["total_fen"]) == (0, 0)
    # March's batch cancelled and built again: 730.00, once.
    r = await api("payments").post(
        f"/batches/{march['id']}/cancel", json={"reason": "rebuilt"}, headers=tokens["finance"]
    )
    assert r.status_code == 200
    rebuilt = await _request(api, tokens, kit, region, M)
    assert rebuilt["id"] != march["id"]
    assert _by_household(await _lines(api, tokens, rebuilt)) == {str(hh): [(str(M), "regular", 73_000)]}
    await _send(api, tokens, rebuilt)
    assert await _paid(db, hh) == {str(M): 73_000}


async def test_4b_a_rise_after_the_month_went_to_the_bank_is_paid_as_the_difference(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    await kit.schedule(case_id, hh, region, M, [(M, None, 73_000)], reason="standard_rise")
    supplement = await _request(api, tokens, kit, region, M.next(), "supplement")
    assert _by_household(await _lines(api, tokens, supplement)) == {str(hh): [(str(M), "supplement", 5_000)]}
    await _send(api, tokens, supplement)
    # A second supplement and April's regular batch add nothing for March.
    assert (await _request(api, tokens, kit, region, M.next(), "supplement"))["line_count"] == 0
    april = await _request(api, tokens, kit, region, M.next())
    assert _by_household(await _lines(api, tokens, april)) == {str(hh): [(str(M.next()), "regular", 73_000)]}
    await _send(api, tokens, april)
    assert await _paid(db, hh) == {str(M): 73_000, str(M.next()): 73_000}


async def test_7_a_reissue_pays_todays_amount_and_a_lower_amount_reaches_a_built_batch(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M), "failed", "账户冻结")
    # Raised to 730.00 from March before the failed line goes out again: the reissue pays 730.00, in one transfer.
    await kit.schedule(case_id, hh, region, M, [(M, None, 73_000)], reason="standard_rise")
    await kit.payee(hh, region, "6228480000000000017", holder="王秀兰")
    reissue = await _request(api, tokens, kit, region, M.next(), "reissue")
    assert _by_household(await _lines(api, tokens, reissue)) == {str(hh): [(str(M), "reissue", 73_000)]}
    await _send(api, tokens, reissue)
    assert await _paid(db, hh) == {str(M): 73_000}

    # April built and approved at 730.00; a review lowers April on to 600.00: the batch follows, and goes back to
    # `built` for a second officer to approve the new envelope.
    pay = api("payments")
    april = await _request(api, tokens, kit, region, M.next())
    assert (await pay.post(f"/batches/{april['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    await kit.schedule(case_id, hh, region, M.next(), [(M.next(), None, 60_000)], reason="review")
    amended = (await pay.get(f"/batches/{april['id']}", headers=tokens["finance"])).json()
    assert (amended["status"], amended["approved_by"], amended["total_fen"]) == ("built", None, 60_000)
    assert (await pay.post(f"/batches/{april['id']}/export", headers=tokens["finance"])).status_code == 409
    await _send(api, tokens, amended)
    assert await _paid(db, hh) == {str(M): 73_000, str(M.next()): 60_000}


async def test_a_month_returned_failed_joins_the_batch_not_yet_at_the_bank(api, tokens, kit, db):
    region = village()
    _, hh = await _approved(kit, region, 68_000, M)
    pay = api("payments")
    march = await _request(api, tokens, kit, region, M)
    rows = await _at_the_bank(api, tokens, march)
    # April is built and approved while March's file is at the bank; then March comes back failed.
    april = await _request(api, tokens, kit, region, M.next())
    assert (await pay.post(f"/batches/{april['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    await _returned_failed(api, tokens, march, rows[0])
    # March is owed again: April's batch holds it as 补发 beside April, and goes back for a second officer's approval.
    followed = (await pay.get(f"/batches/{april['id']}", headers=tokens["finance"])).json()
    assert (followed["status"], followed["line_count"], followed["total_fen"]) == ("built", 2, 136_000)
    assert _by_household(await _lines(api, tokens, followed)) == {
        str(hh): [(str(M), "arrears", 68_000), (str(M.next()), "regular", 68_000)]
    }
    # A reissue now finds nothing to pay: March is in flight in April's batch.
    reissue = await _request(api, tokens, kit, region, M.next(), "reissue")
    assert (reissue["line_count"], reissue["total_fen"]) == (0, 0)
    await _send(api, tokens, followed)
    assert await _paid(db, hh) == {str(M): 68_000, str(M.next()): 68_000}


async def test_1_a_second_case_of_the_same_household_never_puts_it_on_the_roll_twice(api, tokens, kit, db):
    region = village()
    first, hh = await _approved(kit, region, 68_000, M)
    # A second 低保 case of the same household approved (the race intake's index lets through): its schedule
    # replaces what the household is owed from its month, it does not add to it.
    second = uuid.uuid4()
    await kit.schedule(second, hh, region, M.next(), [(M.next(), None, 70_000)], reason="approval")
    april = await _request(api, tokens, kit, region, M.next())
    assert _by_household(await _lines(api, tokens, april)) == {
        str(hh): [(str(M), "arrears", 68_000), (str(M.next()), "regular", 70_000)]
    }
    await _send(api, tokens, april)
    await kit.replay()  # every event again: nothing owed twice
    assert (await _request(api, tokens, kit, region, M.plus(2)))["total_fen"] == 70_000
    assert await _paid(db, hh) == {str(M): 68_000, str(M.next()): 70_000}
    assert first != second


async def test_2_a_death_ends_one_persons_line_of_a_person_level_programme(api, tokens, kit, db):
    region = village()
    # Two 特困 siblings of one household, a case each (person-level: each schedule names its member).
    sister_case, hh = await kit.approve(region, 0, M, programme="tekun", persons=1)
    brother_case = uuid.uuid4()
    sister, brother = uuid.uuid4(), uuid.uuid4()
    for case_id, member, fen in ((sister_case, sister, 90_000), (brother_case, brother, 86_000)):
        await kit.schedule(
            case_id, hh, region, M, [(M, None, fen)], programme="tekun", persons=1, member_id=member, reason="approval"
        )
    # The brother died in April: his line stops after April; his sister's runs on.
    await kit.schedule(
        brother_case,
        hh,
        region,
        M,
        [(M, M.next(), 86_000)],
        programme="tekun",
        persons=1,
        member_id=brother,
        reason="death",
    )
    may = await _request(api, tokens, kit, region, M.plus(2))
    per_person = sorted((x["member_id"], x["period"], x["amount_fen"]) for x in await _lines(api, tokens, may))
    assert per_person == sorted(
        [(str(sister), str(m), 90_000) for m in (M, M.next(), M.plus(2))]
        + [(str(brother), str(m), 86_000) for m in (M, M.next())]
    )


async def test_2b_the_roll_counts_the_persons_a_household_is_paid_for_after_a_death(api, tokens, kit):
    """A two-person 低保 household whose member died in March 2026: from April one person is owed (500.00 for one
    instead of 1,000.00 for two), and the roll shows one person from then on, as the bank file and the statistics
    count it — not the two of the approval."""
    region = village()
    case_id, hh = await _approved(kit, region, 100_000, M)
    await kit.schedule(case_id, hh, region, M.next(), [(M.next(), None, 50_000)], persons=1, reason="death")
    [entry] = (
        await api("payments").get("/beneficiaries", params={"region": region}, headers=tokens["finance"])
    ).json()["items"]
    assert (entry["case_id"], entry["persons"]) == (str(case_id), 1)


async def test_a_case_with_a_schedule_is_no_longer_priced_by_its_amount_events(api, tokens, kit):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await kit.change(case_id, hh, region, 68_000, 99_000, M)  # a legacy event after the schedule took over
    march = await _request(api, tokens, kit, region, M)
    assert march["total_fen"] == 68_000


async def test_a_reversed_payment_is_paid_again_as_arrears(api, tokens, kit, db):
    region = village()
    _, hh = await _approved(kit, region, 68_000, M)
    march = await _request(api, tokens, kit, region, M)
    rows = await _send(api, tokens, march)
    assert await _paid(db, hh) == {str(M): 68_000}
    pay = api("payments")
    # 退汇: the recipient's bank sent March back a week later.
    back = return_file([(rows[0]["payment_id"], rows[0]["amount_yuan"], "reversed", "收款行退回")])
    r = await pay.post(f"/batches/{march['id']}/returns", files={"file": ("r.csv", back)}, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    assert r.json()["reconciliation"]["failed_fen"] == 68_000
    assert await _paid(db, hh) == {}
    # A line still pending cannot be reversed; a reversed one cannot be paid again by the same line.
    again = return_file([(rows[0]["payment_id"], rows[0]["amount_yuan"], "paid", "")]) + b"\n"  # not the same file
    r = await pay.post(f"/batches/{march['id']}/returns", files={"file": ("r.csv", again)}, headers=tokens["finance"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("result")
    april = await _request(api, tokens, kit, region, M.next())
    assert _by_household(await _lines(api, tokens, april)) == {
        str(hh): [(str(M), "arrears", 68_000), (str(M.next()), "regular", 68_000)]
    }
    await _send(api, tokens, april)
    assert await _paid(db, hh) == {str(M): 68_000, str(M.next()): 68_000}


async def test_a_lower_amount_after_payment_is_an_overpayment_that_a_restoring_decision_closes(api, tokens, kit, db):
    region = village()
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    await kit.schedule(case_id, hh, region, M, [(M, None, 60_000)], reason="review")
    pay = api("payments")

    async def open_overpayments() -> list[tuple[str, int, int, int]]:
        found = await walk(pay, "/overpayments", tokens["finance"], {"status": "open", "household_id": str(hh)})
        return [(o["period"], o["paid_fen"], o["owed_fen"], o["amount_fen"]) for o in found]

    assert await open_overpayments() == [(str(M), 68_000, 60_000, 8_000)]
    # The review is corrected: March is owed 680.00 again, nothing to recover.
    await kit.schedule(case_id, hh, region, M, [(M, None, 68_000)], reason="correction")
    assert await open_overpayments() == []
    assert await _sent(db, hh) == {str(M): 68_000}


async def test_a_bank_file_that_cannot_be_produced_whole_is_refused_not_truncated(api, tokens, kit):
    region = village()
    await _approved(kit, region, 68_000, M)
    _, retired = await _approved(kit, region, 50_000, M)
    # An account sealed under a key this service no longer holds: its line cannot be written.
    await kit.publish(
        PayeeChanged(
            household_id=retired,
            region_code=region,
            key_id="retired-key",
            sealed="bm90IGEgc2VhbCB3ZSBjYW4gb3Blbg==",
            account_last4="4321",
            changed_at=datetime.now(UTC),
        ),
        retired,
    )
    march = await _request(api, tokens, kit, region, M)
    pay = api("payments")
    assert (await pay.post(f"/batches/{march['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{march['id']}/export", headers=tokens["finance"])).status_code == 200
    r = await pay.get(f"/batches/{march['id']}/bank-file", headers=tokens["finance"])
    assert r.status_code == 409, r.text[:200]
    [line] = [x for x in await _lines(api, tokens, march) if x["household_id"] == str(retired)]
    assert r.json()["errors"][0]["field"] == "bank_file" and line["payment_id"] in r.json()["detail"]


async def test_lines_show_the_accounts_last_digits_and_whether_it_changed_since_the_last_payment(api, tokens, kit):
    region = village()
    _, hh = await _approved(kit, region, 68_000, M)
    march = await _request(api, tokens, kit, region, M)
    [first] = await _lines(api, tokens, march)
    assert (first["account_last4"], first["account_changed"]) == ("8901", None)  # never paid before
    await _send(api, tokens, march)
    april = await _request(api, tokens, kit, region, M.next())
    assert [(x["account_last4"], x["account_changed"]) for x in await _lines(api, tokens, april)] == [("8901", False)]
    await api("payments").post(
        f"/batches/{april['id']}/cancel", json={"reason": "new account"}, headers=tokens["finance"]
    )
    await kit.payee(hh, region, "6228480000000000017", holder="王秀兰")
    again = await _request(api, tokens, kit, region, M.next())
    assert [(x["account_last4"], x["account_changed"]) for x in await _lines(api, tokens, again)] == [("0017", True)]


async def _open_over(api, tokens, hh: uuid.UUID, status: str = "open") -> list[dict]:
    return await walk(api("payments"), "/overpayments", tokens["finance"], {"status": status, "household_id": str(hh)})


async def test_an_overpayment_is_waived_by_two_officers_or_repaid_and_a_repayment_is_paid_back_if_restored(
    api, tokens, kit, db
):
    region = village()
    pay = api("payments")
    case_id, hh = await _approved(kit, region, 68_000, M)
    await _send(api, tokens, await _request(api, tokens, kit, region, M))
    await _send(api, tokens, await _request(api, tokens, kit, region, M.next()))
    # Lowered to 600.00 from March after both months were paid: 80.00 a month to recover.
    await kit.schedule(case_id, hh, region, M, [(M, None, 60_000)], reason="review")
    march, april = sorted(await _open_over(api, tokens, hh), key=lambda o: o["period"])
    assert (march["period"], march["amount_fen"], april["period"], april["amount_fen"]) == (
        str(M),
        8_000,
        str(M.next()),
        8_000,
    )
    # March waived: asked by one officer, refused to the same one, approved by another.
    r = await pay.post(f"/overpayments/{march['id']}/waiver", json={"reason": "生活困难"}, headers=tokens["finance"])
    assert r.status_code == 200 and r.json()["status"] == "waiver_requested"
    r = await pay.post(f"/overpayments/{march['id']}/waiver/approve", headers=tokens["finance"])
    assert r.status_code == 403 and "two-person rule" in r.json()["detail"]
    r = await pay.post(f"/overpayments/{march['id']}/waiver/approve", headers=OTHER_FINANCE)
    assert (r.status_code, r.json()["status"], r.json()["closed_reason"]) == (200, "closed", "waived")
    # April repaid at the township office.
    r = await pay.post(f"/overpayments/{april['id']}/repaid", json={"reason": "收据 0042"}, headers=tokens["finance"])
    assert (r.status_code, r.json()["closed_reason"]) == (200, "repaid")
    again = await pay.post(f"/overpayments/{april['id']}/repaid", json={"reason": "x"}, headers=tokens["finance"])
    assert again.status_code == 409
    assert await _open_over(api, tokens, hh) == []
    # The review is corrected: 680.00 again. March's waived 80.00 stays with the household (nothing to pay);
    # April's repaid 80.00 is paid back by May's batch, beside May.
    await kit.schedule(case_id, hh, region, M, [(M, None, 68_000)], reason="correction")
    may = await _request(api, tokens, kit, region, M.plus(2))
    assert _by_household(await _lines(api, tokens, may)) == {
        str(hh): [(str(M.next()), "arrears", 8_000), (str(M.plus(2)), "regular", 68_000)]
    }
    assert await _open_over(api, tokens, hh) == []


async def test_a_schedule_of_a_one_off_case_never_adds_monthly_money_to_its_award(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 0, M, programme="temporary", one_off_fen=200_000)
    await kit.schedule(case_id, hh, region, M, [(M, M, 200_000)], programme="temporary", reason="approval")
    march = await _request(api, tokens, kit, region, M)
    assert [(x["kind"], x["amount_fen"]) for x in await _lines(api, tokens, march)] == [("one_off", 200_000)]


async def test_a_one_off_award_returned_failed_leaves_a_built_batch_as_it_is(api, tokens, kit, db):
    # Only monthly balances follow a return: an award (临时救助) returned failed is paid by a later batch, and the
    # household's other award waiting in a built batch stays as approved.
    region = village()
    _, hh = await kit.approve(region, 0, M, programme="temporary", one_off_fen=200_000)
    pay = api("payments")
    march = await _request(api, tokens, kit, region, M)
    rows = await _at_the_bank(api, tokens, march)
    await kit.approve(region, 0, M.next(), programme="temporary", one_off_fen=100_000, household_id=hh)
    april = await _request(api, tokens, kit, region, M.next())
    assert (await pay.post(f"/batches/{april['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    await _returned_failed(api, tokens, march, rows[0])
    after = (await pay.get(f"/batches/{april['id']}", headers=tokens["finance"])).json()
    assert (after["status"], after["line_count"], after["total_fen"]) == ("approved", 1, 100_000)
    # The failed 2,000.00 goes out again with the next batch that pays awards.
    reissue = await _request(api, tokens, kit, region, M.next(), "reissue")
    assert [(x["kind"], x["amount_fen"]) for x in await _lines(api, tokens, reissue)] == [("one_off", 200_000)]
