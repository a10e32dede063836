"""Monthly disbursement against real PostgreSQL: the roll with history, batches built set-based by the real job,
two-person approval, bank file and roster, bank returns and reconciliation, re-issue and 提标补发."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import text

from services.payments.batches.repository import BatchRepository, payment_id
from services.payments.models import HOUSEHOLD
from shared.core.period import Period
from shared.events.catalogue import PaymentPaid
from shared.events.envelope import CloudEvent
from tests.conftest import bearer
from tests.helpers import problem, walk
from tests.payments_kit import PaymentsKit, bank_rows, return_file, township, village

P = Period(2026, 7)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db)


async def _batch(api, tokens, region: str, period: Period = P, kind: str = "regular", **extra) -> dict:
    r = await api("payments").post(
        "/batches",
        json={"region_code": region, "period": str(period), "kind": kind, **extra},
        headers=tokens["finance"],
    )
    assert r.status_code in (200, 202), r.text
    return r.json()


async def _built(api, tokens, kit: PaymentsKit, batch: dict) -> dict:
    await kit.build()
    r = await api("payments").get(f"/batches/{batch['id']}", headers=tokens["finance"])
    assert r.status_code == 200 and r.json()["status"] == "built", r.text
    return r.json()


async def _pay(api, tokens, kit, region: str, period: Period) -> dict:
    """A regular batch through approval and export, every line returned paid."""
    b = await _built(api, tokens, kit, await _batch(api, tokens, region, period))
    pay = api("payments")
    assert (await pay.post(f"/batches/{b['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{b['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{b['id']}/bank-file", headers=tokens["finance"])).content)
    r = await pay.post(
        f"/batches/{b['id']}/returns",
        headers=tokens["finance"],
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return (await pay.get(f"/batches/{b['id']}", headers=tokens["finance"])).json()


async def test_monthly_batch_from_roll_to_reconciliation(api, tokens, kit, db):
    region = village()
    pay = api("payments")
    _paid_case, paid_hh = await kit.approve(region, 150_000, P, persons=3)
    _later_case, _ = await kit.approve(region, 90_000, P.next())  # starts next month: not in this batch
    dead_case, dead_hh = await kit.approve(region, 60_000, P)
    await kit.terminate(dead_case, dead_hh, region, P.plus(-1))  # died last month: nothing owed at all
    _, no_account_hh = await kit.approve(region, 45_000, P, account=None)
    _award_case, award_hh = await kit.approve(region, 0, P.plus(-1), programme="temporary", one_off_fen=200_000)

    batch = await _batch(api, tokens, region)
    assert batch["status"] == "building"
    again = await pay.post("/batches", json={"region_code": region, "period": str(P)}, headers=tokens["finance"])
    assert again.status_code == 200 and again.json()["id"] == batch["id"]  # the same month twice: one batch
    b = await _built(api, tokens, kit, batch)
    assert b["line_count"] == 3 and b["total_fen"] == 150_000 + 45_000 + 200_000
    assert b["progress"]["done"] == b["progress"]["total"] == 3  # the households owed anything in the region
    lines = await walk(pay, f"/batches/{b['id']}/lines", tokens["finance"])
    by_household = {x["household_id"]: x for x in lines}
    assert by_household[str(paid_hh)]["status"] == "pending" and by_household[str(paid_hh)]["persons"] == 3
    assert by_household[str(no_account_hh)]["status"] == "failed"
    assert by_household[str(no_account_hh)]["reason"] == "no bank account on file"
    assert by_household[str(award_hh)]["kind"] == "one_off"

    # The payment id is the UUIDv5 Python and PostgreSQL agree on.
    assert by_household[str(paid_hh)]["payment_id"] == str(
        payment_id(paid_hh, "dibao", HOUSEHOLD, P, "regular", uuid.UUID(b["id"]))
    )

    # Two people: the creator cannot approve; nothing goes to the bank before approval.
    r = await pay.post(f"/batches/{b['id']}/approve", headers=tokens["finance"])
    assert r.status_code == 403 and "two-person rule" in r.json()["detail"]
    assert (await pay.post(f"/batches/{b['id']}/export", headers=tokens["finance"])).status_code == 409
    assert (await pay.get(f"/batches/{b['id']}/bank-file", headers=tokens["finance"])).status_code == 409
    r = await pay.post(f"/batches/{b['id']}/approve", headers=OTHER_FINANCE)
    assert r.status_code == 200 and r.json()["approved_by"] == "finance-wuqi-2"
    assert (await pay.post(f"/batches/{b['id']}/export", headers=tokens["finance"])).json()["status"] == "exported"
    r = await pay.post(f"/batches/{b['id']}/cancel", json={"reason": "too late"}, headers=tokens["finance"])
    assert r.status_code == 409  # exported: out of our hands

    csv_utf8 = (await pay.get(f"/batches/{b['id']}/bank-file", headers=tokens["finance"])).content
    rows = bank_rows(csv_utf8)
    assert {r["amount_yuan"] for r in rows} == {"1500.00", "2000.00"}  # the line without an account is not sent
    assert rows[0]["account_number"] == "6217000012345678901" and rows[0]["account_holder"] == "李建国"
    assert "最低生活保障金" in {r["memo"].split(" ")[1] for r in rows}
    gbk = (
        await pay.get(f"/batches/{b['id']}/bank-file", params={"encoding": "gbk"}, headers=tokens["finance"])
    ).content
    assert bank_rows(gbk, "gbk") == rows

    town = region[:9]
    r = await pay.get(f"/batches/{b['id']}/roster", params={"township": town}, headers=tokens["finance"])
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    cells = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert cells[2][:4] == ["序号", "行政区划代码", "村(社区)", "户名(领款人)"]
    assert any("6217000012345678901" in str(c) for row in cells for c in row) is False  # masked in the roster
    assert any(row and row[0] == "合计" for row in cells) and any("审核人:" in row for row in cells)

    # A bank return with mistakes is rejected whole, every bad row named.
    good = {r["payment_id"]: r for r in rows}
    paid_pid = str(by_household[str(paid_hh)]["payment_id"])
    award_pid = str(by_household[str(award_hh)]["payment_id"])
    bad = return_file(
        [
            (paid_pid, "1499.00", "paid", ""),
            (str(uuid.uuid4()), "1.00", "paid", ""),
            ("not-an-id", "x", "maybe", ""),
            (award_pid, "2000.00", "failed", ""),
        ]
    )
    r = await pay.post(f"/batches/{b['id']}/returns", files={"file": ("r.csv", bad)}, headers=tokens["finance"])
    assert r.status_code == 422, r.text
    named = {(e["row"], e["field"].split(".")[-1]) for e in r.json()["errors"]}
    assert {
        ("2", "amount_yuan"),
        ("3", "payment_id"),
        ("4", "payment_id"),
        ("4", "amount_yuan"),
        ("4", "result"),
        ("5", "reason"),
    } <= named
    assert (await pay.get(f"/batches/{b['id']}", headers=tokens["finance"])).json()["reconciliation"][
        "pending_count"
    ] == 2  # nothing written

    ok = return_file(
        [(paid_pid, good[paid_pid]["amount_yuan"], "paid", ""), (award_pid, "2000.00", "failed", "账户已销户")]
    )
    r = await pay.post(f"/batches/{b['id']}/returns", files={"file": ("r.csv", ok)}, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    rec = r.json()["reconciliation"]
    assert (rec["paid_count"], rec["failed_count"], rec["pending_count"]) == (1, 2, 0)
    assert rec["paid_fen"] + rec["failed_fen"] + rec["pending_fen"] == rec["total_fen"] == b["total_fen"]
    again = await pay.post(f"/batches/{b['id']}/returns", files={"file": ("r.csv", ok)}, headers=tokens["finance"])
    assert again.json()["already_applied"] is True and again.json()["reconciliation"] == rec
    assert (await pay.get(f"/batches/{b['id']}", headers=tokens["finance"])).json()["status"] == "reconciled"
    async with db.connect() as conn:
        failed_events = await conn.scalar(
            text("SELECT count(*) FROM payments.outbox WHERE type LIKE '%payment.failed.v1' AND key = :k"),
            {"k": str(award_hh)},
        )
        [paid_event] = (
            (
                await conn.execute(
                    text("SELECT payload::text FROM payments.outbox WHERE type LIKE '%payment.paid.v1' AND key = :k"),
                    {"k": str(paid_hh)},
                )
            )
            .scalars()
            .all()
        )
    assert failed_events == 1
    event = CloudEvent.from_json(paid_event.encode())  # built in SQL, read as any consumer reads it
    paid = PaymentPaid.model_validate(event.data)
    assert (paid.household_id, paid.period, paid.amount_fen) == (paid_hh, P, 150_000) and event.region == region

    # Failed lines go out again once an account is on file; the month is never paid twice.
    await kit.payee(no_account_hh, region, "6228480000000000017", holder="王秀兰")
    reissue = await _built(api, tokens, kit, await _batch(api, tokens, region, P.next(), "reissue"))
    assert reissue["line_count"] == 2 and reissue["total_fen"] == 45_000 + 200_000
    again = await _built(api, tokens, kit, await _batch(api, tokens, region, P.next(), "reissue"))
    assert again["line_count"] == 0  # the failed lines are already re-issued
    async with db.connect() as conn:
        held = await conn.scalar(
            text(
                "SELECT sum(amount_fen) FROM payments.payment_lines WHERE household_id = :h AND period = :p "
                "AND status IN ('pending', 'paid')"
            ),
            {"h": no_account_hh, "p": P.first_day},
        )
    assert held == 45_000  # July's 450.00, once


async def test_concurrent_requests_make_one_batch(api, tokens, kit):
    region = village()
    await kit.approve(region, 50_000, P)
    results = await asyncio.gather(
        *[
            api("payments").post("/batches", json={"region_code": region, "period": str(P)}, headers=tokens["finance"])
            for _ in range(4)
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 202]
    assert len({r.json()["id"] for r in results}) == 1


async def test_cancelled_batch_frees_the_month(api, tokens, kit):
    region = village()
    await kit.approve(region, 50_000, P)
    b = await _built(api, tokens, kit, await _batch(api, tokens, region))
    r = await api("payments").post(
        f"/batches/{b['id']}/cancel", json={"reason": "wrong month"}, headers=tokens["finance"]
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    b2 = await _built(api, tokens, kit, await _batch(api, tokens, region))
    assert b2["id"] != b["id"] and b2["line_count"] == 1


async def test_standard_rise_decided_two_months_late_is_back_paid_once(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 33_000, P)
    await _pay(api, tokens, kit, region, P)
    await _pay(api, tokens, kit, region, P.next())
    # 提标 decided in September, effective from July: 330 → 370 a month.
    await kit.change(case_id, hh, region, 33_000, 37_000, P)
    sup = await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(2), "supplement"))
    assert sup["line_count"] == 2 and sup["total_fen"] == 2 * 4_000
    lines = await walk(api("payments"), f"/batches/{sup['id']}/lines", tokens["finance"])
    assert sorted(x["period"] for x in lines) == [str(P), str(P.next())]
    again = await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(2), "supplement"))
    assert again["line_count"] == 0
    # The next month is paid at the new amount: no supplement needed for it.
    sept = await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(2)))
    assert sept["total_fen"] == 37_000


async def test_a_death_is_paid_up_to_and_including_its_month(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 50_000, P)
    await kit.terminate(case_id, hh, region, P.next(), "death")
    # July never paid: the August batch pays it as 补发 (arrears) beside August itself; nothing after August.
    aug = await _built(api, tokens, kit, await _batch(api, tokens, region, P.next()))
    lines = await walk(api("payments"), f"/batches/{aug['id']}/lines", tokens["finance"])
    assert sorted((x["period"], x["kind"], x["amount_fen"]) for x in lines) == [
        (str(P), "arrears", 50_000),
        (str(P.next()), "regular", 50_000),
    ]
    assert (await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(2))))["line_count"] == 0


async def test_a_gradual_exit_ends_after_its_last_month_unless_a_review_lifts_it(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 50_000, P)
    await kit.gradual_exit(case_id, hh, region, P.next())
    sept = await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(2)))
    assert (sept["line_count"], sept["total_fen"]) == (2, 2 * 50_000)  # July and August, nothing for September
    await kit.change(case_id, hh, region, 50_000, 40_000, P.plus(3))  # eligible again on review
    nov = await _built(api, tokens, kit, await _batch(api, tokens, region, P.plus(4)))
    assert (nov["line_count"], nov["total_fen"]) == (2, 2 * 40_000)  # October (arrears) and November


async def test_replayed_decisions_change_neither_roll_nor_history(api, tokens, kit, db):
    region = village()
    case_id, hh = await kit.approve(region, 50_000, P)
    await kit.change(case_id, hh, region, 50_000, 55_000, P.next())
    await kit.change(case_id, hh, region, 55_000, 52_000, P)  # backdated: wins from July on
    await kit.terminate(case_id, hh, region, P.plus(3), "moved")

    async def snapshot() -> list:
        async with db.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT e.from_month, e.to_month, e.monthly_amount_fen, e.superseded_by IS NULL, b.end_month, "
                        "b.status FROM payments.entitlements e JOIN "
                        "payments.beneficiaries b ON b.id = e.beneficiary_id "
                        "WHERE b.region_code = :r ORDER BY e.id"
                    ),
                    {"r": region},
                )
            ).all()

    before = await snapshot()
    in_force = [(r[0], r[1], r[2]) for r in before if r[3]]
    assert in_force == [(P.first_day, P.plus(3).first_day, 52_000)]
    await kit.replay()  # the same consumer from offset 0: its inbox knows every event
    await kit.replay(f"payments.replay-{uuid.uuid4()}")  # a brand-new consumer: the history itself knows them
    assert await snapshot() == before


async def test_bad_requests_are_4xx_and_change_nothing(api, tokens):
    pay = api("payments")
    for body, field in (
        ({"region_code": "610626", "period": "2026-13"}, "period"),
        ({"region_code": "61x", "period": "2026-07"}, "region_code"),
        ({"region_code": "610626", "period": "2026-07", "kind": "urgent"}, "case_ids"),
    ):
        r = await pay.post("/batches", json=body, headers=tokens["finance"])
        assert r.status_code == 422 and field in r.text, r.text
    r = await pay.post("/batches", json={"region_code": "610625", "period": "2026-07"}, headers=tokens["finance"])
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "region_code"
    r = await pay.post("/batches", json={"region_code": "610626", "period": "2026-07"}, headers=tokens["clerk"])
    assert r.status_code == 403
    assert (await pay.get(f"/batches/{uuid.uuid4()}", headers=tokens["finance"])).status_code == 404


async def test_urgent_batch_pays_a_one_off_the_same_day_and_only_once(api, tokens, kit):
    region = village()
    case_id, _ = await kit.approve(region, 0, P, programme="temporary", one_off_fen=300_000)
    other_case, _ = await kit.approve(region, 0, P, programme="temporary", one_off_fen=100_000)
    urgent = await _built(api, tokens, kit, await _batch(api, tokens, region, P, "urgent", case_ids=[str(case_id)]))
    assert urgent["line_count"] == 1 and urgent["total_fen"] == 300_000
    regular = await _built(api, tokens, kit, await _batch(api, tokens, region, P))
    lines = await walk(api("payments"), f"/batches/{regular['id']}/lines", tokens["finance"])
    assert [x["case_id"] for x in lines] == [str(other_case)]  # the urgent one is not paid again


async def test_a_batch_is_asked_for_at_most_the_coming_month(api, tokens, db):
    """Months not yet due are not paid ahead (a 提标补发 asked for a period four months on paid every month up to it
    before they were owed): a batch of any kind is for this month or the next (asked for on any day of the month
    before, China time), an earlier one as before; later is a 422 naming `period`, and nothing is created."""
    region = village()
    this_month = Period.of(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    for kind in ("regular", "supplement", "reissue"):
        r = await api("payments").post(
            "/batches",
            json={"region_code": region, "period": str(this_month.plus(2)), "kind": kind},
            headers=tokens["finance"],
        )
        problem(r, 422, "period")
    async with db.connect() as conn:
        assert (
            await conn.scalar(text("SELECT count(*) FROM payments.batches WHERE region_code = :r"), {"r": region}) == 0
        )
    assert (await _batch(api, tokens, region, this_month.next()))["period"] == str(this_month.next())


async def test_statistics_count_each_person_of_a_person_level_programme(api, tokens, kit):
    """Two 特困 siblings of one household (分散供养, 860.00 and 900.00 a month, each their own line): 1 household,
    2 persons — each line of a person-level programme is one person, so the household's count is its persons
    paid, not the largest line's 1."""
    region = village()
    first, hh = await kit.approve(region, 0, P, programme="tekun", persons=1, tekun_arrangement="home")
    second, _ = await kit.approve(region, 0, P, programme="tekun", persons=1, tekun_arrangement="home", household_id=hh)
    for case_id, fen in ((first, 86_000), (second, 90_000)):
        await kit.schedule(
            case_id,
            hh,
            region,
            P,
            [(P, None, fen)],
            programme="tekun",
            persons=1,
            member_id=uuid.uuid4(),
            reason="approval",
        )
    await _pay(api, tokens, kit, region, P)
    r = await api("payments").get("/statistics", params={"region": region, "period": str(P)}, headers=tokens["auditor"])
    stats = r.json()
    [tekun] = stats["programmes"]
    assert (tekun["households"], tekun["persons"], tekun["money_fen"]) == (1, 2, 176_000)
    assert [(t["households"], t["persons"], t["money_fen"]) for t in stats["tekun_arrangements"]] == [(1, 2, 176_000)]


async def test_the_roster_total_counts_each_household_and_person_once(api, tokens, kit):
    """花名册 合计: a 3-person 低保 household whose disabled member also has the living subsidy (one line each), and a
    2-person 低保 household: 2 户 and 5 人 (the subsidy's person is one of the 3), 1,500.00 + 70.00 + 1,000.00."""
    region = village()
    _, both = await kit.approve(region, 150_000, P, persons=3)
    await kit.approve(region, 7_000, P, programme="disability_living", persons=1, account=None, household_id=both)
    await kit.approve(region, 100_000, P, persons=2)
    batch = await _pay(api, tokens, kit, region, P)
    r = await api("payments").get(
        f"/batches/{batch['id']}/roster", params={"township": region[:9]}, headers=tokens["finance"]
    )
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    cells = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert sum(1 for row in cells[3:] if row and isinstance(row[0], int)) == 3  # a line each
    [total] = [row for row in cells if row and row[0] == "合计"]
    assert total == ["合计", "2 户", 5, 2_570.0]


async def test_statistics_count_the_marginal_households_on_the_roll(api, tokens, kit):
    """低保边缘 pays no cash by right (domain.md): no line in any batch, yet the county reports its households and
    persons — counted from the roll for the months they were on it (a household of 2 from July, one of 3 stopped
    in June: July counts 1 household, 2 persons; June counts the other)."""
    region = village()
    await kit.approve(region, 0, P, programme="marginal", persons=2)
    case, hh = await kit.approve(region, 0, P.plus(-3), programme="marginal", persons=3)
    await kit.terminate(case, hh, region, P.plus(-1), reason="moved")

    async def marginal(period: Period) -> tuple[int, int, int]:
        r = await api("payments").get(
            "/statistics", params={"region": region, "period": str(period)}, headers=tokens["auditor"]
        )
        [row] = [p for p in r.json()["programmes"] if p["programme"] == "marginal"]
        return row["households"], row["persons"], row["money_fen"]

    assert await marginal(P) == (1, 2, 0)
    assert await marginal(P.plus(-1)) == (1, 3, 0)


async def test_statistics_add_up_with_the_batches(api, tokens, kit):
    region = village()
    await kit.approve(region, 150_000, P, persons=3)
    await kit.approve(region, 50_000, P, persons=1)
    await kit.approve(region, 0, P, programme="temporary", one_off_fen=200_000, persons=2)
    for fen, arrangement in ((90_000, "institution"), (86_000, "home"), (86_000, "home"), (80_000, None)):
        await kit.approve(region, fen, P, programme="tekun", persons=1, tekun_arrangement=arrangement)
    batch = await _pay(api, tokens, kit, region, P)
    r = await api("payments").get("/statistics", params={"region": region, "period": str(P)}, headers=tokens["auditor"])
    assert r.status_code == 200, r.text
    stats = r.json()
    by = {p["programme"]: p for p in stats["programmes"]}
    assert (by["dibao"]["households"], by["dibao"]["persons"], by["dibao"]["money_fen"]) == (2, 4, 200_000)
    assert by["dibao"]["new"] == 2 and by["dibao"]["money_wan_yuan"] == "0.20"
    assert (by["temporary"]["one_off_household_times"], by["temporary"]["one_off_person_times"]) == (1, 2)
    assert stats["money_fen"] == batch["total_fen"] == batch["reconciliation"]["paid_fen"] == 400_000 + 342_000
    # 特困 集中 vs 分散供养 (an approval that did not say counts as unknown); the split adds up to the 特困 row.
    split = {
        t["arrangement"]: (t["name"], t["households"], t["persons"], t["money_fen"])
        for t in stats["tekun_arrangements"]
    }
    assert split == {
        "institution": ("特困 集中供养", 1, 1, 90_000),
        "home": ("特困 分散供养", 2, 2, 172_000),
        "unknown": ("特困 供养方式未登记", 1, 1, 80_000),
    }
    assert sum(t[3] for t in split.values()) == by["tekun"]["money_fen"] and by["tekun"]["households"] == 4
    year = await api("payments").get(
        "/statistics", params={"region": region, "year": P.year, "half": 2, "format": "xlsx"}, headers=tokens["auditor"]
    )
    assert year.status_code == 200 and year.content[:2] == b"PK"
    for params in (
        {"region": region},
        {"region": region, "period": "0000-01"},
        {"region": region, "period": str(P), "year": 2026},
    ):
        bad = await api("payments").get("/statistics", params=params, headers=tokens["auditor"])
        assert bad.status_code == 422, bad.text


async def test_overlapping_regions_never_pay_a_month_twice(api, tokens, kit, db):
    town = township()
    village_a, village_b = town + "101", town + "102"
    case_a, a = await kit.approve(village_a, 50_000, P)
    _, b = await kit.approve(village_b, 60_000, P)
    first = await _built(api, tokens, kit, await _batch(api, tokens, village_a))
    assert first["line_count"] == 1
    # A found owed from June too (back-dated): the village's July batch, which holds A, follows and pays June.
    await kit.schedule(case_a, a, village_a, P.plus(-1), [(P.plus(-1), None, 50_000)])
    by_township = await _built(api, tokens, kit, await _batch(api, tokens, town))
    # The township's batch pays only what the village's batch does not: one batch per beneficiary and month.
    lines = await walk(api("payments"), f"/batches/{by_township['id']}/lines", tokens["finance"])
    assert [
        (x["household_id"], x["period"], x["amount_fen"]) for x in lines if x["household_id"] in (str(a), str(b))
    ] == [(str(b), str(P), 60_000)]
    async with db.connect() as conn:
        held = (
            await conn.execute(
                text(
                    "SELECT l.household_id, to_char(l.period, 'YYYY-MM'), l.batch_id, sum(l.amount_fen) "
                    "FROM payments.payment_lines l WHERE l.household_id IN (:a, :b) "
                    "AND l.status IN ('pending', 'paid') GROUP BY l.household_id, l.period, l.batch_id"
                ),
                {"a": a, "b": b},
            )
        ).all()
    assert sorted((h, p, str(batch), fen) for h, p, batch, fen in held) == sorted(
        [
            (a, str(P.plus(-1)), first["id"], 50_000),
            (a, str(P), first["id"], 50_000),
            (b, str(P), by_township["id"], 60_000),
        ]
    )


async def test_a_chunk_is_read_by_its_id_range_only_where_its_households_fill_it(api, tokens, kit, db):
    """A village's households lie between its neighbour's in id order: its chunk is looked up household by
    household (its range would read the neighbour's too), the township's chunk — every household of the range —
    by the range; either way each batch pays its own households once."""
    town = township()
    village_a, village_b = town + "101", town + "102"
    top = uuid.UUID(f"ffff{random.randrange(16**4):04x}-0000-4000-8000-000000000000")
    ids = [uuid.UUID(int=top.int + k) for k in range(1, 10)]  # a, b, b, a, b, b, …: no other household among them
    for k, household in enumerate(ids):
        await kit.approve(village_a if k % 3 == 0 else village_b, 40_000 + k, P, household_id=household)
    async with kit.sessions() as session:
        repo = BatchRepository(session)
        of_a = await repo.next_chunk(village_a, top, 10)
        of_township = await repo.next_chunk(town, top, 10)
    assert of_a is not None and (of_a.households, of_a.dense) == (ids[0::3], False)
    assert of_township is not None and (of_township.households, of_township.dense) == (ids, True)
    paid = {}
    for region in (village_a, town):
        batch = await _built(api, tokens, kit, await _batch(api, tokens, region))
        lines = await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"])
        paid[region] = sorted(
            (x["household_id"], x["period"], x["amount_fen"]) for x in lines if x["household_id"] in map(str, ids)
        )
    assert paid[village_a] == sorted((str(h), str(P), 40_000 + k) for k, h in enumerate(ids) if k % 3 == 0)
    assert paid[town] == sorted((str(h), str(P), 40_000 + k) for k, h in enumerate(ids) if k % 3 != 0)
