"""存量对象导入 on the payments side, against real PostgreSQL: an imported approval (`case.approved` with
`paid_elsewhere_through`, then its `case.schedule_changed` reason `imported`) through payments' real consumer, batches
built by the real job and settled through the API. The months the old system paid count as paid: the first regular
batch pays exactly the file's amount for the first month not paid, and a back-dated 提标 only the difference for the
old system's months. Every figure is fen per person and month, worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from shared.core.period import Period
from shared.events.catalogue import CaseApproved
from tests.conftest import bearer
from tests.helpers import walk
from tests.integration.test_payments_deduction import _lines as _withholding
from tests.integration.test_payments_deduction import _overpayments
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

EFFECTIVE = Period(2024, 3)  # approved by the old system in February 2024
PAID_THROUGH = Period(2026, 11)  # the last month the old system paid
OCT, DEC, JAN = Period(2026, 10), Period(2026, 12), Period(2027, 1)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.paid-elsewhere-tests")


async def _imported(
    kit: PaymentsKit,
    region: str,
    fen: int,
    *,
    programme: str = "dibao",
    persons: int = 2,
    member: uuid.UUID | None = None,
    household: uuid.UUID | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """An imported case as eligibility sends it: `case.approved` (with the months the old system paid) and its
    schedule from the month after the old approval at the file's amount."""
    case_id, hh = uuid.uuid4(), household or uuid.uuid4()
    if household is None:
        await kit.payee(hh, region, "6217000012345678901")
    members = [member] if member else [uuid.uuid4() for _ in range(persons)]
    await kit.publish(
        CaseApproved(
            case_id=case_id,
            application_id=uuid.uuid4(),
            household_id=hh,
            programme=programme,
            region_code=region,
            member_ids=members,
            monthly_amount_fen=fen,
            effective_month=EFFECTIVE,
            decided_at=datetime(2024, 2, 20, tzinfo=UTC),
            paid_elsewhere_through=PAID_THROUGH,
        ),
        hh,
    )
    await kit.schedule(
        case_id,
        hh,
        region,
        EFFECTIVE,
        [(EFFECTIVE, None, fen)],
        programme=programme,
        persons=1 if member else persons,
        member_id=member,
        reason="imported",
    )
    return case_id, hh


async def _request(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    pay = api("payments")
    r = await pay.post(
        "/batches", json={"region_code": region, "period": str(period), "kind": kind}, headers=tokens["finance"]
    )
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return (await pay.get(f"/batches/{r.json()['id']}", headers=tokens["finance"])).json()


async def _lines(api, tokens, batch: dict) -> list[tuple[str, str, str, int]]:
    """(member, month, kind, fen) of the batch's live lines."""
    lines = await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"])
    return sorted(
        (x["member_id"], str(x["period"]), x["kind"], x["amount_fen"]) for x in lines if x["status"] != "cancelled"
    )


async def _send(api, tokens, batch: dict) -> None:
    """Approve (another officer), export, and the bank pays every line."""
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


NIL = str(uuid.UUID(int=0))


async def test_the_first_regular_batch_pays_one_month_and_a_back_dated_rise_only_the_difference(api, tokens, kit, db):
    region = village()
    case_id, hh = await _imported(kit, region, 52_000)
    # 2024-03 … 2026-11 were paid by the old system at 520.00: December's batch pays December alone, at 520.00.
    december = await _request(api, tokens, kit, region, DEC)
    assert await _lines(api, tokens, december) == [(NIL, str(DEC), "regular", 52_000)]
    assert (december["line_count"], december["total_fen"]) == (1, 52_000)
    await _send(api, tokens, december)

    # 提标 to 555.00 from October 2026, decided in January: October and November (the old system paid 520.00) and
    # December (we paid 520.00) are owed 35.00 more each; nothing before October.
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 55_500)], reason="standard_rise")
    supplement = await _request(api, tokens, kit, region, JAN, "supplement")
    assert await _lines(api, tokens, supplement) == [
        (NIL, "2026-10", "supplement", 3_500),
        (NIL, "2026-11", "supplement", 3_500),
        (NIL, "2026-12", "supplement", 3_500),
    ]
    await _send(api, tokens, supplement)
    january = await _request(api, tokens, kit, region, JAN)
    assert await _lines(api, tokens, january) == [(NIL, "2027-01", "regular", 55_500)]


async def test_a_rise_back_dated_before_the_first_batch_pays_the_difference_as_supplement(api, tokens, kit, db):
    region = village()
    case_id, hh = await _imported(kit, region, 52_000)
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 55_500)], reason="standard_rise")
    december = await _request(api, tokens, kit, region, DEC)
    # October and November were paid by the old system at 520.00: the rise's 35.00 on them is 提标补发, the label
    # a 提标补发 batch gives it (above), in the regular batch too.
    assert await _lines(api, tokens, december) == [
        (NIL, "2026-10", "supplement", 3_500),
        (NIL, "2026-11", "supplement", 3_500),
        (NIL, "2026-12", "regular", 55_500),
    ]
    assert december["total_fen"] == 3_500 + 3_500 + 55_500


async def test_a_person_level_programme_is_paid_elsewhere_per_member(api, tokens, kit, db):
    """特困: two members of one household, each an imported case of their own (one person), at their own amounts."""
    region = village()
    a, b = uuid.uuid4(), uuid.uuid4()
    _, hh = await _imported(kit, region, 86_000, programme="tekun", member=a)
    await _imported(kit, region, 96_000, programme="tekun", member=b, household=hh)
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT member_id, from_month, through_month, amount_fen FROM payments.paid_elsewhere "
                    "WHERE household_id = :h ORDER BY amount_fen"
                ),
                {"h": hh},
            )
        ).all()
    assert [(m, str(Period.of(f)), str(Period.of(t)), fen) for m, f, t, fen in rows] == [
        (a, "2024-03", "2026-11", 86_000),
        (b, "2024-03", "2026-11", 96_000),
    ]
    december = await _request(api, tokens, kit, region, DEC)
    assert await _lines(api, tokens, december) == sorted(
        [(str(a), str(DEC), "regular", 86_000), (str(b), str(DEC), "regular", 96_000)]
    )
    # One member's rise from October: only that member's two old-system months and December, the difference.
    case_b = await _case_of(db, b)
    await kit.schedule(
        case_b,
        hh,
        region,
        Period(2026, 10),
        [(Period(2026, 10), None, 99_000)],
        programme="tekun",
        persons=1,
        member_id=b,
        reason="standard_rise",
    )
    followed = await _lines(api, tokens, december)  # December's batch (not exported) follows the rise
    assert followed == sorted(
        [
            (str(a), str(DEC), "regular", 86_000),
            (str(b), "2026-10", "supplement", 3_000),  # the rise on months the old system paid: 提标补发
            (str(b), "2026-11", "supplement", 3_000),
            (str(b), str(DEC), "regular", 99_000),
        ]
    )


async def _case_of(db, member: uuid.UUID) -> uuid.UUID:
    async with db.connect() as conn:
        return (
            await conn.execute(text("SELECT case_id FROM payments.paid_elsewhere WHERE member_id = :m"), {"m": member})
        ).scalar_one()


async def test_a_replayed_import_records_the_old_system_months_once(api, tokens, kit, db):
    region = village()
    _, hh = await _imported(kit, region, 41_000, persons=1)
    await kit.replay("payments.paid-elsewhere-replay")
    async with db.connect() as conn:
        count = (
            await conn.execute(text("SELECT count(*) FROM payments.paid_elsewhere WHERE household_id = :h"), {"h": hh})
        ).scalar_one()
    assert count == 1
    december = await _request(api, tokens, kit, region, DEC)
    assert await _lines(api, tokens, december) == [(NIL, str(DEC), "regular", 41_000)]


async def test_what_holds_money_for_the_what_if_counts_the_months_the_old_system_paid(api, tokens, kit, db):
    """The what-if asks payments what holds money for the months a value changes (`POST /balances/held`): the old
    system's months hold the file's amount, as the batch's balance counts them, so a rise from August is owed only
    its difference for August to November, and December (nothing paid yet) its whole amount."""
    region = village()
    _, hh = await _imported(kit, region, 52_000)
    body = {
        "persons": [{"household_id": str(hh), "programme": "dibao", "member_id": NIL}],
        "from_month": "2026-08",
        "through": "2026-12",
    }
    r = await api("payments").post("/balances/held", json=body, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    held = {x["period"]: x["held_fen"] for x in r.json()}
    assert held == {"2026-08": 52_000, "2026-09": 52_000, "2026-10": 52_000, "2026-11": 52_000}


async def _held(api, tokens, hh: uuid.UUID, first: Period, through: Period) -> dict[str, int]:
    """Fen that holds money for the household's months (`POST /balances/held`), as the balance counts it."""
    body = {
        "persons": [{"household_id": str(hh), "programme": "dibao", "member_id": NIL}],
        "from_month": str(first),
        "through": str(through),
    }
    r = await api("payments").post("/balances/held", json=body, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    return {x["period"]: x["held_fen"] for x in r.json()}


async def _found(api, tokens, hh: uuid.UUID) -> list[tuple[str, int, int, int, str]]:
    """(month, paid, owed, overpaid, reason) of the household's overpayments."""
    found = await walk(api("payments"), "/overpayments", tokens["finance"], {"household_id": str(hh)})
    return sorted((o["period"], o["paid_fen"], o["owed_fen"], o["amount_fen"], o["reason"]) for o in found)


async def _died_in_september(api, tokens, kit) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The partner agency's finding: 3 persons imported at 1500.00 a month, the old system paid through November
    2026; one of them died in September, reported afterwards: from October 2 persons, 1000.00. October and November
    were paid 1500.00 each (the old system), owed 1000.00: 500.00 each overpaid (`reduced`), as a bank-paid month."""
    region = village()
    case_id, hh = await _imported(kit, region, 150_000, persons=3)
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 100_000)], persons=2, reason="death")
    assert await _found(api, tokens, hh) == [
        ("2026-10", 150_000, 100_000, 50_000, "reduced"),
        ("2026-11", 150_000, 100_000, 50_000, "reduced"),
    ]
    return case_id, hh, region


async def test_a_death_reported_after_the_old_system_paid_is_an_overpayment_withheld_from_later_lines(
    api, tokens, kit, db
):
    _, hh, region = await _died_in_september(api, tokens, kit)
    # December: 1000.00 owed, at most 500.00 withheld (half): October's 500.00; the bank pays 500.00.
    december = await _request(api, tokens, kit, region, DEC)
    assert await _withholding(api, tokens, december) == [(str(DEC), "regular", 50_000, 50_000)]
    assert await _overpayments(api, tokens, hh) == [
        ("2026-10", 50_000, "closed", "recovered"),
        ("2026-11", 50_000, "open", None),
    ]
    await _send(api, tokens, december)
    # January withholds November's 500.00: each month then holds exactly what it is owed, 1000.00.
    january = await _request(api, tokens, kit, region, JAN)
    assert await _withholding(api, tokens, january) == [(str(JAN), "regular", 50_000, 50_000)]
    assert await _overpayments(api, tokens, hh) == [
        ("2026-10", 50_000, "closed", "recovered"),
        ("2026-11", 50_000, "closed", "recovered"),
    ]
    assert await _held(api, tokens, hh, OCT, JAN) == {m: 100_000 for m in ("2026-10", "2026-11", "2026-12", "2027-01")}
    # Nothing recorded twice when the region's overpayments are recorded again (after a batch is built).
    assert len(await _found(api, tokens, hh)) == 2


async def test_a_restoring_decision_closes_the_old_systems_overpayment_restored_and_pays_back_what_was_withheld(
    api, tokens, kit, db
):
    case_id, hh, region = await _died_in_september(api, tokens, kit)
    december = await _request(api, tokens, kit, region, DEC)
    await _send(api, tokens, december)  # 500.00 paid, October's 500.00 withheld
    # The death was reported in error: 3 persons, 1500.00 from October again. November's overpayment was never
    # withheld: it closes `restored`. October's was recovered: the 500.00 withheld from December is owed back to
    # October (held 1500.00 − 500.00), and December is owed 500.00 more (held 500.00 + 500.00 withheld).
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 150_000)], persons=3, reason="correction")
    assert await _overpayments(api, tokens, hh) == [
        ("2026-10", 50_000, "closed", "recovered"),
        ("2026-11", 50_000, "closed", "restored"),
    ]
    january = await _request(api, tokens, kit, region, JAN)
    assert await _withholding(api, tokens, january) == [
        ("2026-10", "arrears", 50_000, 0),
        ("2026-12", "arrears", 50_000, 0),
        (str(JAN), "regular", 150_000, 0),
    ]


async def test_the_old_systems_months_after_the_end_are_overpaid_whole_and_a_repayment_closes_one(api, tokens, kit, db):
    """The household's assistance ends with September (the whole household: nothing owed from October): the old
    system's October and November, 1500.00 each, are overpaid whole (`after_end`). One repaid (退回) closes `repaid`
    and is not recorded again; the other stays open."""
    region = village()
    case_id, hh = await _imported(kit, region, 150_000, persons=3)
    await kit.schedule(case_id, hh, region, OCT, [], persons=3, reason="death")
    assert await _found(api, tokens, hh) == [
        ("2026-10", 150_000, 0, 150_000, "after_end"),
        ("2026-11", 150_000, 0, 150_000, "after_end"),
    ]
    found = await walk(api("payments"), "/overpayments", tokens["finance"], {"household_id": str(hh)})
    october = next(o for o in found if o["period"] == "2026-10")
    r = await api("payments").post(
        f"/overpayments/{october['id']}/repaid", json={"reason": "户主退回"}, headers=tokens["finance"]
    )
    assert r.status_code == 200, r.text
    await kit.schedule(case_id, hh, region, OCT, [], persons=3, reason="death")  # recorded again: unchanged
    assert await _overpayments(api, tokens, hh) == [
        ("2026-10", 150_000, "closed", "repaid"),
        ("2026-11", 150_000, "open", None),
    ]
    assert await _held(api, tokens, hh, OCT, Period(2026, 11)) == {"2026-10": 0, "2026-11": 150_000}


async def test_a_month_paid_by_the_old_system_and_a_rise_line_counts_each_once(api, tokens, kit, db):
    """A month holds the old system's payment and a line only when the line is what the old system did not pay (a
    提标's difference): their sum is what was paid. Lowered afterwards, only what is beyond the new amount is over."""
    region = village()
    case_id, hh = await _imported(kit, region, 52_000)
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 55_500)], reason="standard_rise")
    await _send(api, tokens, await _request(api, tokens, kit, region, DEC))  # 35.00 for Oct and Nov, 555.00 for Dec
    # Lowered to 540.00 from October: each month paid 555.00 (520.00 + 35.00 for October and November), 15.00 over.
    await kit.schedule(case_id, hh, region, OCT, [(OCT, None, 54_000)], reason="review")
    assert await _found(api, tokens, hh) == [
        ("2026-10", 55_500, 54_000, 1_500, "reduced"),
        ("2026-11", 55_500, 54_000, 1_500, "reduced"),
        ("2026-12", 55_500, 54_000, 1_500, "reduced"),
    ]
