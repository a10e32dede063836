"""增减变动 (services/payments/statistics): the month's changes a township reports by the 10th — each beneficiary that
joined, stopped or changed amount, with what it was owed the month before and this month, its village and its
account holder — page by page and as .xlsx, adding up with the month's counts of GET /statistics."""

from __future__ import annotations

import io
import uuid

import openpyxl
import pytest

from shared.core.period import Period
from tests.conftest import bearer
from tests.helpers import villages_loaded, walk
from tests.payments_kit import PaymentsKit, village

M = Period(2026, 3)


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db)


async def _approve(kit: PaymentsKit, region: str, fen: int, start: Period, holder: str, persons: int = 1):
    """A 低保 household approved from `start`, its account held by `holder`: (case id, household id)."""
    household = uuid.uuid4()
    await kit.payee(household, region, "6217000012345678901", holder=holder)
    return await kit.approve(region, fen, start, persons=persons, account=None, household_id=household)


async def test_a_months_changes_list_each_beneficiary_that_joined_stopped_or_changed(api, tokens, kit, db):
    region = village()
    await villages_loaded(db, {region: "红柳村"})
    await _approve(kit, region, 60_000, M.plus(-2), "王一")  # on the roll, nothing changes in March: not listed
    _, joined = await _approve(kit, region, 50_000, M, "王二", persons=2)
    case, died = await _approve(kit, region, 70_000, M.plus(-2), "王三")
    await kit.terminate(case, died, region, M)  # paid through March
    case, raised = await _approve(kit, region, 40_000, M.plus(-2), "王四")
    await kit.change(case, raised, region, 40_000, 45_000, M)
    case, brief = await _approve(kit, region, 30_000, M, "王五")
    await kit.terminate(case, brief, region, M, reason="moved")

    pay = api("payments")
    items = await walk(pay, "/statistics/changes", tokens["auditor"], {"region": region, "period": str(M)}, limit=2)
    got = {
        i["household_id"]: (i["changes"], i["amount_before_fen"], i["amount_after_fen"], i["holder"], i["end_reason"])
        for i in items
    }
    assert got == {
        str(joined): (["new"], None, 50_000, "王二", None),
        str(died): (["stopped"], 70_000, 70_000, "王三", "death"),
        str(raised): (["changed"], 40_000, 45_000, "王四", None),
        str(brief): (["new", "stopped"], None, 30_000, "王五", "moved"),
    }
    assert {(i["village"], i["programme_name"]) for i in items} == {("红柳村", "最低生活保障金")}
    # The list adds up with the month's counts.
    r = await pay.get("/statistics", params={"region": region, "period": str(M)}, headers=tokens["auditor"])
    [dibao] = r.json()["programmes"]
    assert (dibao["new"], dibao["stopped"], dibao["changed"]) == (2, 2, 1)
    # April changes nobody; another county's finance office sees nothing of March.
    april = await walk(pay, "/statistics/changes", tokens["auditor"], {"region": region, "period": str(M.next())})
    assert april == []
    zhidan = bearer("finance-zhidan", ["finance"], "610625")
    assert await walk(pay, "/statistics/changes", zhidan, {"region": region, "period": str(M)}) == []

    r = await pay.get(
        "/statistics/changes",
        params={"region": region, "period": str(M), "format": "xlsx"},
        headers=tokens["auditor"],
    )
    assert r.status_code == 200, r.text
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("序号", "行政区划代码", "村(社区)", "户名")
    assert sorted((row[3], row[6], row[7], row[8]) for row in rows[2:]) == sorted(
        [
            ("王二", "新增", None, 500.0),
            ("王三", "停保", 700.0, 700.0),
            ("王四", "调整", 400.0, 450.0),
            ("王五", "新增、停保", None, 300.0),
        ]
    )


async def test_a_later_change_does_not_make_the_approval_month_a_change(api, tokens, kit, db):
    """A 3-person household approved from January at 1,500.00; a member dies, 900.00 from March. January is the
    month it joined (新增), not one whose amount changed; March is the change (1,500.00 → 900.00): a township's
    January report, filed by 10 February, must not change afterwards."""
    region = village()
    case, hh = await _approve(kit, region, 150_000, M.plus(-2), "王六", persons=3)
    await kit.change(case, hh, region, 150_000, 90_000, M)
    pay = api("payments")

    async def month(period: Period) -> tuple[dict, tuple]:
        items = await walk(pay, "/statistics/changes", tokens["auditor"], {"region": region, "period": str(period)})
        r = await pay.get("/statistics", params={"region": region, "period": str(period)}, headers=tokens["auditor"])
        counts = [(p["new"], p["changed"]) for p in r.json()["programmes"]]
        return {i["household_id"]: (i["changes"], i["amount_before_fen"], i["amount_after_fen"]) for i in items}, counts

    assert await month(M.plus(-2)) == ({str(hh): (["new"], None, 150_000)}, [(1, 0)])
    assert (await month(M.plus(-1)))[0] == {}
    assert (await month(M))[0] == {str(hh): (["changed"], 150_000, 90_000)}


async def test_bad_months_and_regions_are_named(api, tokens):
    pay = api("payments")
    r = await pay.get("/statistics/changes", params={"period": "2026-13"}, headers=tokens["auditor"])
    assert r.status_code == 422 and "period" in r.text
    r = await pay.get("/statistics/changes", headers=tokens["auditor"])
    assert r.status_code == 422 and "period" in r.text
    r = await pay.get("/statistics/changes", params={"period": "2026-03"}, headers=tokens["clerk"])
    assert r.status_code == 403
    # The first month a period can be has no month before it: still an answer, not an error.
    r = await pay.get("/statistics/changes", params={"period": "1900-01"}, headers=tokens["auditor"])
    assert r.status_code == 200 and r.json()["items"] == [], r.text


async def test_an_account_that_does_not_open_leaves_the_holder_out_not_the_change(api, tokens, kit, db):
    """A payee's sealed account replayed from another household does not open (it is bound to its own): the bank
    file refuses it, and the changes list still lists the newcomer, without a holder."""
    from sqlalchemy import text

    region = village()
    _, replayed = await _approve(kit, region, 50_000, M, "赵一")
    _, other = await _approve(kit, region, 60_000, M, "赵二")
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE payments.payees SET sealed = (SELECT sealed FROM payments.payees WHERE household_id = :o) "
                "WHERE household_id = :r"
            ),
            {"o": other, "r": replayed},
        )
    items = await walk(api("payments"), "/statistics/changes", tokens["auditor"], {"region": region, "period": str(M)})
    assert {(i["household_id"], i["holder"], tuple(i["changes"])) for i in items} == {
        (str(replayed), None, ("new",)),
        (str(other), "赵二", ("new",)),
    }
