"""The reported sequences of issue 16 with the events eligibility sends today, before it sends schedules: a case
without a `case.schedule_changed` still owes what its approval and amount changes derive, and the balance rule pays
it exactly (fen per household and month, worked out by hand). On the code before the balance rule each of these
failed: March never paid to the late approval, 780.00 paid for a month owed 730.00, a reissue at the old amount."""

from __future__ import annotations

import pytest

from shared.core.period import Period
from tests.conftest import bearer
from tests.helpers import walk
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

M = Period(2026, 3)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.balance-before-schedules")


async def _built(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    pay = api("payments")
    r = await pay.post(
        "/batches", json={"region_code": region, "period": str(period), "kind": kind}, headers=tokens["finance"]
    )
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return (await pay.get(f"/batches/{r.json()['id']}", headers=tokens["finance"])).json()


async def _send(api, tokens, batch: dict, result: str = "paid", reason: str = "") -> None:
    pay = api("payments")
    if batch["status"] == "built":
        assert (await pay.post(f"/batches/{batch['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{batch['id']}/bank-file", headers=tokens["finance"])).content)
    if not rows:
        return  # nothing to pay (the 补发 batch after the built month followed the rise)
    r = await pay.post(
        f"/batches/{batch['id']}/returns",
        headers=tokens["finance"],
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], result, reason) for x in rows]))},
    )
    assert r.status_code == 200, r.text


async def _paid(api, tokens, region: str, household) -> dict[str, int]:
    """Fen paid to the household per month, from the lines of the region's batches (returned paid)."""
    pay, out = api("payments"), {}
    for b in await walk(pay, "/batches", tokens["finance"]):
        if b["region_code"] != region:
            continue
        lines = await walk(pay, f"/batches/{b['id']}/lines", tokens["finance"], {"status": "paid"})
        for x in lines:
            if x["household_id"] == str(household):
                out[x["period"]] = out.get(x["period"], 0) + x["amount_fen"]
    return out


async def test_3_a_late_approval_is_paid_its_first_month(api, tokens, kit):
    region = village()
    await kit.approve(region, 68_000, M)
    await _send(api, tokens, await _built(api, tokens, kit, region, M))
    _, late = await kit.approve(region, 68_000, M)  # decided after March's batch went out
    await _send(api, tokens, await _built(api, tokens, kit, region, M.next()))
    assert await _paid(api, tokens, region, late) == {str(M): 68_000, str(M.next()): 68_000}


async def test_4_rise_supplement_and_a_rebuilt_month_pay_the_month_once(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 68_000, M)
    march = await _built(api, tokens, kit, region, M)
    await kit.change(case_id, hh, region, 68_000, 73_000, M)
    await _send(api, tokens, await _built(api, tokens, kit, region, M.next(), "supplement"))
    r = await api("payments").post(f"/batches/{march['id']}/cancel", json={"reason": "x"}, headers=tokens["finance"])
    assert r.status_code == 200
    await _send(api, tokens, await _built(api, tokens, kit, region, M))
    assert await _paid(api, tokens, region, hh) == {str(M): 73_000}


async def test_7_a_reissue_pays_todays_amount(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 68_000, M)
    await _send(api, tokens, await _built(api, tokens, kit, region, M), "failed", "账户冻结")
    await kit.change(case_id, hh, region, 68_000, 73_000, M)
    await _send(api, tokens, await _built(api, tokens, kit, region, M.next(), "reissue"))
    assert await _paid(api, tokens, region, hh) == {str(M): 73_000}
