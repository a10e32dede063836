"""增减变动 (services/payments/statistics): the month's changes a township reports by the 10th — each beneficiary that
joined, stopped or changed amount, with what it was owed the month before and this month, its village and its
account holder — page by page and as .xlsx, adding up with the month's counts of GET /statistics."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import text

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
    # Each change shown names a household (and its payee): one audit row each, set-based.
    sub = "auditor-changes-audit"
    r = await pay.get(
        "/statistics/changes", params={"region": region, "period": str(M)}, headers=bearer(sub, ["auditor"], "6106")
    )
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT action, household_id::text, region_code FROM payments.audit_log WHERE actor = :a"),
                {"a": sub},
            )
        ).all()
    assert sorted((h, rc) for _, h, rc in rows) == sorted(
        (i["household_id"], i["region_code"]) for i in r.json()["items"]
    )
    assert len(rows) == 4 and {a for a, *_ in rows} == {"statistics.changes"}
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


# --- the month's changes read what each month is owed (payments.owed), as eligibility sends it ------------------


async def _scheduled(kit: PaymentsKit, region: str, fen: int, start: Period, persons: int = 2, holder: str = "李一"):
    """A 低保 approval as eligibility sends it: `case.approved` and the case's first schedule."""
    case, hh = await _approve(kit, region, fen, start, holder, persons=persons)
    await kit.schedule(case, hh, region, start, [(start, None, fen)], persons=persons, reason="approval")
    return case, hh


async def _month(api, tokens, region: str, period: Period) -> tuple[dict, dict]:
    """The month's changes by household (and person) and the month's counts by programme."""
    pay = api("payments")
    items = await walk(pay, "/statistics/changes", tokens["auditor"], {"region": region, "period": str(period)})
    r = await pay.get("/statistics", params={"region": region, "period": str(period)}, headers=tokens["auditor"])
    counts = {p["programme"]: (p["new"], p["stopped"], p["changed"]) for p in r.json()["programmes"]}
    return {
        (i["household_id"], i["member_id"]): (
            i["changes"],
            i["persons"],
            i["amount_before_fen"],
            i["amount_after_fen"],
            i["end_reason"],
        )
        for i in items
    }, counts


async def test_a_rise_shows_in_the_months_owed_whatever_the_case_status(api, tokens, kit, db):
    """A 提标 from March (1,440.00 → 1,560.00) decided after a 渐退 whose last month is May: eligibility sends the
    schedule only (no amount change: the case is not `approved`), and March is a change 1,440.00 → 1,560.00, May the
    last month at 1,560.00. A household that died in February (last month February) is owed February's rise
    (1,000.00 → 1,100.00): February both stops it and changes its amount."""
    region = village()
    case, exiting = await _scheduled(kit, region, 144_000, M.plus(-2))
    await kit.gradual_exit(case, exiting, region, M.plus(2))
    await kit.schedule(case, exiting, region, M.plus(3), [], reason="gradual_exit")
    await kit.schedule(case, exiting, region, M, [(M, M.plus(2), 156_000)], reason="standard_rise")
    case, died = await _scheduled(kit, region, 100_000, M.plus(-2), persons=1)
    await kit.terminate(case, died, region, M.plus(-1))
    await kit.schedule(case, died, region, M, [], reason="death")
    await kit.schedule(
        case, died, region, M.plus(-1), [(M.plus(-1), M.plus(-1), 110_000)], persons=1, reason="standard_rise"
    )

    assert await _month(api, tokens, region, M.plus(-1)) == (
        {(str(died), None): (["stopped", "changed"], 1, 100_000, 110_000, "death")},
        {"dibao": (0, 1, 1)},
    )
    assert await _month(api, tokens, region, M) == (
        {(str(exiting), None): (["changed"], 2, 144_000, 156_000, None)},
        {"dibao": (0, 0, 1)},
    )
    assert await _month(api, tokens, region, M.plus(2)) == (
        {(str(exiting), None): (["stopped"], 2, 156_000, 156_000, None)},
        {"dibao": (0, 1, 0)},
    )


async def test_a_month_whose_amount_did_not_move_is_no_change(api, tokens, kit, db):
    """A household approved from March at 900.00 and raised from March to 980.00 before anything was paid is new in
    March, nothing else (never paid 900.00); a household at 1,140.00 whose two reviews from March cancel out (1,000.00,
    then 1,140.00 again) has no change in March."""
    region = village()
    case, newcomer = await _scheduled(kit, region, 90_000, M)
    await kit.schedule(case, newcomer, region, M, [(M, None, 98_000)], reason="standard_rise")
    await kit.change(case, newcomer, region, 90_000, 98_000, M)
    case, reviewed = await _scheduled(kit, region, 114_000, M.plus(-2))
    for before, after in ((114_000, 100_000), (100_000, 114_000)):
        await kit.schedule(case, reviewed, region, M, [(M, None, after)], reason="review")
        await kit.change(case, reviewed, region, before, after, M)

    assert await _month(api, tokens, region, M) == (
        {(str(newcomer), None): (["new"], 2, None, 98_000, None)},
        {"dibao": (1, 0, 0)},
    )


async def test_a_person_level_programme_lists_each_person(api, tokens, kit, db):
    """特困 is each person's: a household's case covering two persons (800.00 each from January) lists each person
    new in January (1 person, 800.00 each); the death of one in March (last month March) stops that person in March
    and changes nobody's amount — as GET /statistics counts them (2 new, then 1 stopped)."""
    region = village()
    one, two = uuid.uuid4(), uuid.uuid4()
    case, hh = await kit.approve(region, 160_000, M.plus(-2), programme="tekun", account=None)
    start = M.plus(-2)
    await kit.schedule(
        case,
        hh,
        region,
        start,
        [(start, None, 80_000, 1, one), (start, None, 80_000, 1, two)],
        programme="tekun",
        reason="approval",
    )
    await kit.schedule(
        case, hh, region, M.next(), [(M.next(), None, 80_000, 1, one)], programme="tekun", reason="death"
    )

    assert await _month(api, tokens, region, start) == (
        {
            (str(hh), str(one)): (["new"], 1, None, 80_000, None),
            (str(hh), str(two)): (["new"], 1, None, 80_000, None),
        },
        {"tekun": (2, 0, 0)},
    )
    assert await _month(api, tokens, region, M) == (
        {(str(hh), str(two)): (["stopped"], 1, 80_000, 80_000, None)},
        {"tekun": (0, 1, 0)},
    )
    assert (await _month(api, tokens, region, M.next()))[0] == {}


async def test_the_persons_are_those_of_the_month(api, tokens, kit, db):
    """A 3-person household at 1,650.00; a member dies this month, so 1,100.00 for 2 persons from next month; then a
    提标 from this month: 1,680.00 for 3 this month, 1,120.00 for 2 from next month. The roll shows 1,120.00 for 2
    persons (the amount's persons), next month's changes 2 persons (1,680.00 → 1,120.00), this month's 3."""
    region = village()
    now = Period.of(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    case, hh = await _scheduled(kit, region, 165_000, now.plus(-2), persons=3)
    await kit.schedule(case, hh, region, now.next(), [(now.next(), None, 110_000)], reason="death")
    await kit.change(case, hh, region, 165_000, 110_000, now.next())
    await kit.schedule(
        case,
        hh,
        region,
        now,
        [(now, now, 168_000, 3, None), (now.next(), None, 112_000, 2, None)],
        reason="standard_rise",
    )
    await kit.change(case, hh, region, 165_000, 168_000, now)
    await kit.change(case, hh, region, 168_000, 112_000, now.next())

    r = await api("payments").get("/beneficiaries", params={"region": region}, headers=tokens["auditor"])
    assert [(b["monthly_amount_fen"], b["persons"]) for b in r.json()["items"]] == [(112_000, 2)]
    assert (await _month(api, tokens, region, now))[0] == {(str(hh), None): (["changed"], 3, 165_000, 168_000, None)}
    assert (await _month(api, tokens, region, now.next()))[0] == {
        (str(hh), None): (["changed"], 2, 168_000, 112_000, None)
    }
