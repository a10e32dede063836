"""What a balance line is called (its `kind`): the amounts are the balance (owed − paid − in flight − pending) and stay
as they are; the label says what the money is, the same in every batch that pays it. The batch's own month in a
regular batch is `regular`; any other month is `supplement` (提标补发) when something already holds money for it
(paid, with the bank, or in a batch not yet exported; a month the old system paid) and the owed row in force for it
is a 提标 (`standard_rise`) — a rise added to a month paid at the old amount; otherwise it is `arrears` (补发), or
`reissue` in a 重发 batch. The bank memo, the roster and the statistics (`supplement_fen`, `arrears_fen`) read it.

Reported by a county finance office: a 提标补发 batch labelled every line `supplement`, months never paid included,
and a regular batch labelled a rise's back-pay `arrears`. Driven as eligibility sends decisions (`case.approved`,
`case.schedule_changed` with its reason) through payments' real consumer, batches built by the real job and settled
through the API. Every figure is fen per person and month, worked out by hand in each test's docstring."""

from __future__ import annotations

import io
import uuid
from collections import defaultdict

import openpyxl
import pytest

from shared.core.period import Period
from tests.conftest import bearer
from tests.helpers import walk
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

SEP, OCT, NOV, DEC = Period(2026, 9), Period(2026, 10), Period(2026, 11), Period(2026, 12)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.supplement-kinds-tests")


async def _approved(kit: PaymentsKit, region: str, fen: int, start: Period, *, tekun: bool = False):
    """An approval as eligibility sends it: `case.approved` and the case's first schedule. 特困 is person-level (its
    schedule names the member); 低保 is the household's (two persons). Each in a household of its own."""
    if not tekun:
        case_id, hh = await kit.approve(region, fen, start)
        await kit.schedule(case_id, hh, region, start, [(start, None, fen)], reason="approval")
        return case_id, hh, None
    member = uuid.uuid4()
    case_id, hh = await kit.approve(region, fen, start, programme="tekun", persons=1)
    await _owes(kit, (case_id, hh, member), region, start, [(start, None, fen)], "approval")
    return case_id, hh, member


async def _owes(kit: PaymentsKit, who, region: str, changed_from: Period, segments, reason: str) -> None:
    """`case.schedule_changed` for one person (a 特困 member, or a 低保 household when the member is None)."""
    case_id, hh, member = who
    if member is None:
        await kit.schedule(case_id, hh, region, changed_from, segments, reason=reason)
    else:
        await kit.schedule(
            case_id, hh, region, changed_from, segments, programme="tekun", persons=1, member_id=member, reason=reason
        )


async def _request(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    pay = api("payments")
    r = await pay.post(
        "/batches", json={"region_code": region, "period": str(period), "kind": kind}, headers=tokens["finance"]
    )
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return await _batch(api, tokens, r.json()["id"])


async def _batch(api, tokens, batch_id: str) -> dict:
    return (await api("payments").get(f"/batches/{batch_id}", headers=tokens["finance"])).json()


async def _lines(api, tokens, batch: dict) -> dict[str, list[tuple[str, str, int]]]:
    """(month, kind, fen) of the batch's live lines, per household."""
    out: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for x in await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"]):
        if x["status"] != "cancelled":
            out[x["household_id"]].append((x["period"], x["kind"], x["amount_fen"]))
    return {h: sorted(v) for h, v in out.items()}


async def _send(api, tokens, batch: dict) -> list[dict]:
    """Approve (another officer), export, the bank pays every line; the bank file's rows."""
    pay = api("payments")
    assert (await pay.post(f"/batches/{batch['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{batch['id']}/bank-file", headers=tokens["finance"])).content)
    r = await pay.post(
        f"/batches/{batch['id']}/returns",
        headers=tokens["finance"],
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return rows


async def _figures(api, tokens, region: str, month: Period, programme: str) -> tuple[int, int, int]:
    """(money, 提标补发, 补发) fen of the programme's lines paying `month`, as `GET /statistics` counts them."""
    r = await api("payments").get(
        "/statistics", params={"region": region, "period": str(month)}, headers=tokens["auditor"]
    )
    assert r.status_code == 200, r.text
    [p] = [p for p in r.json()["programmes"] if p["programme"] == programme]
    return p["money_fen"], p["supplement_fen"], p["arrears_fen"]


async def test_a_supplement_batch_labels_only_a_rise_on_a_month_already_paid_as_supplement(api, tokens, kit):
    """The reported case. 特困 A is approved at 860.00 from September 2026; September's and October's regular batches
    pay A 86,000 each. 特困 B is approved at 860.00 from October after October's batch went out (nothing paid for B).
    No regular batch is built for November. 提标 from October: both are owed 925.00 (reason `standard_rise`).
    The 提标补发 batch of December pays the months before December:

    * A October: owed 92,500, held 86,000 → 6,500, a rise on a paid month: `supplement`;
    * A November: owed 92,500, held 0 → 92,500, never paid: `arrears`;
    * B October, November: owed 92,500, held 0 → 92,500 each: `arrears`;
    * nothing for December or later (the batch's own month is the regular batch's).

    Total 6,500 + 3 × 92,500 = 284,000 in 4 lines (the amounts as before the fix; before it all four were
    `supplement`). Bank memo: `2026-10 特困人员供养金(提标补发)` for A's October, `(补发)` for the others; the roster
    says the same. Statistics of October (特困): money 86,000 (A's regular) + 6,500 + 92,500 = 185,000, of which
    提标补发 6,500 (it said 99,000) and 补发 92,500; November: 185,000, 提标补发 0, 补发 185,000."""
    region = village()
    a = await _approved(kit, region, 86_000, SEP, tekun=True)
    await _send(api, tokens, await _request(api, tokens, kit, region, SEP))
    await _send(api, tokens, await _request(api, tokens, kit, region, OCT))
    b = await _approved(kit, region, 86_000, OCT, tekun=True)
    for who in (a, b):
        await _owes(kit, who, region, OCT, [(OCT, None, 92_500)], "standard_rise")

    supplement = await _request(api, tokens, kit, region, DEC, "supplement")
    assert await _lines(api, tokens, supplement) == {
        str(a[1]): [(str(OCT), "supplement", 6_500), (str(NOV), "arrears", 92_500)],
        str(b[1]): [(str(OCT), "arrears", 92_500), (str(NOV), "arrears", 92_500)],
    }
    assert (supplement["line_count"], supplement["total_fen"]) == (4, 284_000)

    rows = await _send(api, tokens, supplement)
    assert sorted((r["period"], r["amount_yuan"], r["memo"]) for r in rows) == [
        ("2026-10", "65.00", "2026-10 特困人员供养金(提标补发)"),
        ("2026-10", "925.00", "2026-10 特困人员供养金(补发)"),
        ("2026-11", "925.00", "2026-11 特困人员供养金(补发)"),
        ("2026-11", "925.00", "2026-11 特困人员供养金(补发)"),
    ]
    r = await api("payments").get(
        f"/batches/{supplement['id']}/roster", params={"township": region[:9]}, headers=tokens["finance"]
    )
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    listed = sorted((row[8], row[7], row[9]) for row in sheet.iter_rows(min_row=4, values_only=True) if row[8])
    assert listed == [
        ("2026-10", "特困人员供养金(提标补发)", 65.0),
        ("2026-10", "特困人员供养金(补发)", 925.0),
        ("2026-11", "特困人员供养金(补发)", 925.0),
        ("2026-11", "特困人员供养金(补发)", 925.0),
    ]
    assert await _figures(api, tokens, region, OCT, "tekun") == (185_000, 6_500, 92_500)
    assert await _figures(api, tokens, region, NOV, "tekun") == (185_000, 0, 185_000)


async def test_a_regular_batch_labels_a_rise_on_a_month_already_paid_as_supplement(api, tokens, kit):
    """The same rule in a regular batch, and in a batch following a decision. 低保 households C and D are approved at
    680.00 from September 2026; September's and October's regular batches pay each 68,000 a month. A review raises D
    to 700.00 from September (reason `review`). November's regular batch is built (not exported):

    * C November: 68,000 `regular`;
    * D September, October: owed 70,000, held 68,000 → 2,000 each, a review's raise: `arrears`; November 70,000
      `regular`.

    Then 提标 for C from September to 730.00 (reason `standard_rise`), decided while November's batch is built: the
    batch follows it (C's lines computed again):

    * C September, October: owed 73,000, held 68,000 → 5,000 each, a rise on a paid month: `supplement` (the
      label a 提标补发 batch gives it; before the fix the regular batch said `arrears`); November 73,000 `regular`;
    * D as before.

    Total 5,000 + 5,000 + 73,000 + 2,000 + 2,000 + 70,000 = 157,000 in 6 lines. Statistics of September (低保):
    money 68,000 × 2 + 5,000 + 2,000 = 143,000, of which 提标补发 5,000 (it said 0) and 补发 2,000 (it said 7,000)."""
    region = village()
    c = await _approved(kit, region, 68_000, SEP)
    d = await _approved(kit, region, 68_000, SEP)
    await _send(api, tokens, await _request(api, tokens, kit, region, SEP))
    await _send(api, tokens, await _request(api, tokens, kit, region, OCT))
    await _owes(kit, d, region, SEP, [(SEP, None, 70_000)], "review")

    november = await _request(api, tokens, kit, region, NOV)
    assert await _lines(api, tokens, november) == {
        str(c[1]): [(str(NOV), "regular", 68_000)],
        str(d[1]): [(str(SEP), "arrears", 2_000), (str(OCT), "arrears", 2_000), (str(NOV), "regular", 70_000)],
    }
    await _owes(kit, c, region, SEP, [(SEP, None, 73_000)], "standard_rise")
    november = await _batch(api, tokens, november["id"])
    assert await _lines(api, tokens, november) == {
        str(c[1]): [(str(SEP), "supplement", 5_000), (str(OCT), "supplement", 5_000), (str(NOV), "regular", 73_000)],
        str(d[1]): [(str(SEP), "arrears", 2_000), (str(OCT), "arrears", 2_000), (str(NOV), "regular", 70_000)],
    }
    assert (november["status"], november["line_count"], november["total_fen"]) == ("built", 6, 157_000)

    rows = await _send(api, tokens, november)
    assert sorted((r["period"], r["amount_yuan"], r["memo"]) for r in rows if r["period"] == str(SEP)) == [
        ("2026-09", "20.00", "2026-09 最低生活保障金(补发)"),
        ("2026-09", "50.00", "2026-09 最低生活保障金(提标补发)"),
    ]
    assert await _figures(api, tokens, region, SEP, "dibao") == (143_000, 5_000, 2_000)


async def test_a_later_decision_keeps_the_reason_of_the_months_before_it(api, tokens, kit):
    """A decision replaces what is owed from its month on; the months before it stay owed as they were, for the same
    reason. 特困 E and F are approved at 860.00 from September 2026; September's and October's regular batches pay
    86,000 each a month. 提标 from September to 925.00 for both (reason `standard_rise`). Before any batch pays it:
    E dies in October (a death: nothing owed from November, reason `death`); F's annual review from November keeps
    925.00 (reason `review`). November's regular batch:

    * E September, October: owed 92,500, held 86,000 → 6,500 each, still the rise on paid months: `supplement`
      (the death's row for them must keep `standard_rise`, not take `death`); nothing for November;
    * F September, October: 6,500 each, `supplement` likewise (not `review`); November 92,500 `regular`.

    Total 4 × 6,500 + 92,500 = 118,500 in 5 lines."""
    region = village()
    e = await _approved(kit, region, 86_000, SEP, tekun=True)
    f = await _approved(kit, region, 86_000, SEP, tekun=True)
    await _send(api, tokens, await _request(api, tokens, kit, region, SEP))
    await _send(api, tokens, await _request(api, tokens, kit, region, OCT))
    for who in (e, f):
        await _owes(kit, who, region, SEP, [(SEP, None, 92_500)], "standard_rise")
    await _owes(kit, e, region, NOV, [], "death")
    await _owes(kit, f, region, NOV, [(NOV, None, 92_500)], "review")

    november = await _request(api, tokens, kit, region, NOV)
    assert await _lines(api, tokens, november) == {
        str(e[1]): [(str(SEP), "supplement", 6_500), (str(OCT), "supplement", 6_500)],
        str(f[1]): [(str(SEP), "supplement", 6_500), (str(OCT), "supplement", 6_500), (str(NOV), "regular", 92_500)],
    }
    assert (november["line_count"], november["total_fen"]) == (5, 118_500)
