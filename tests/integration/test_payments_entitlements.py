"""A beneficiary's entitlement history (应发记录, GET /beneficiaries/{id}/entitlements) is what is owed: the rows of
`payments.owed` its case set, what every batch pays from — superseded rows included and marked, each with its
persons, its reason and, for a person-level programme, its person.

Reported by a county finance office: after a 提标 decided later, a 渐退 case was paid 1,560.00 a month by the batches
while its history still said 1,440.00 through its last month, and a case stopped in October was paid October's
提标补发 while its history still showed October at the old amount — eligibility re-prices such cases' schedules but
announces amount changes only for approved cases, and the history read those. Driven as eligibility sends decisions
(`case.approved`, `case.schedule_changed`, `case.gradual_exit_started`, `case.terminated`) through payments' real
consumer, batches built by the real job and settled through the API. Every figure is fen per person and month, worked
out by hand in each test's docstring."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from shared.core.period import Period
from tests.helpers import walk
from tests.integration.test_payments_balance import _request, _send
from tests.payments_kit import PaymentsKit, village

JAN, FEB, MAR, APR, MAY, JUN = (Period(2026, m) for m in range(1, 7))
AUG, OCT, NOV = Period(2026, 8), Period(2026, 10), Period(2026, 11)


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.entitlement-tests")


def _last_event(kit: PaymentsKit) -> str:
    """The id of the event the kit published last."""
    return json.loads(kit.records[-1].value)["id"]


async def _history(api, tokens, household: uuid.UUID) -> list[dict]:
    """The entitlement history of the household's one beneficiary, as the finance office reads it."""
    pay = api("payments")
    [beneficiary] = await walk(pay, "/beneficiaries", tokens["finance"], {"household_id": str(household)})
    r = await pay.get(f"/beneficiaries/{beneficiary['id']}/entitlements", headers=tokens["finance"])
    assert r.status_code == 200, r.text
    return r.json()


def _rows(history: list[dict]) -> list[tuple]:
    """(member, from, to, fen, persons, reason, event, superseded by) a row, in the history's order."""
    return [
        (
            h["member_id"],
            h["from_month"],
            h["to_month"],
            h["monthly_amount_fen"],
            h["persons"],
            h["reason"],
            h["event_id"],
            h["superseded_by"],
        )
        for h in history
    ]


def _owed_months(history: list[dict], through: Period) -> dict[tuple[str | None, str], int]:
    """Fen per person and month up to `through`, as the rows in force of the history say."""
    months = {}
    for h in history:
        if not h["in_force"]:
            continue
        month, last = Period.parse(h["from_month"]), Period.parse(h["to_month"] or str(through))
        while month <= min(last, through):
            months[(h["member_id"], str(month))] = h["monthly_amount_fen"]
            month = month.next()
    return months


async def _held(db, household: uuid.UUID) -> dict[tuple[str | None, str], int]:
    """Fen per person and month the batches hold for the household (paid, or pending)."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT NULLIF(member_id, CAST(:nil AS uuid)), to_char(period, 'YYYY-MM'), sum(amount_fen) "
                "FROM payments.payment_lines WHERE household_id = :h AND status IN ('pending', 'paid') "
                "GROUP BY member_id, period"
            ),
            {"h": household, "nil": str(uuid.UUID(int=0))},
        )
        return {(str(m) if m else None, p): int(f) for m, p, f in rows}


async def test_a_rise_decided_after_a_gradual_exit_shows_in_its_history(api, tokens, kit, db):
    """低保, 2 persons, 1,440.00 a month from January; 渐退 with May its last month. March's batch pays January,
    February and March at 1,440.00. A 提标 from March (1,440.00 → 1,560.00) is decided afterwards: eligibility
    re-prices the 渐退 schedule (March–May 1,560.00) and announces no amount change (the case is not approved). May's
    batch pays March's rise (120.00, 提标补发), April and May (1,560.00 each). So the history says: January–February
    1,440.00 (approval), March–May 1,560.00 (standard_rise) — what the batches paid, month by month — with the rows
    each later decision replaced kept and marked by it (the approval's derivation replaced by its schedule, the
    open-ended approval by the 渐退, the 渐退's 1,440.00 through May by the rise)."""
    region = village()
    case, hh = await kit.approve(region, 144_000, JAN, persons=2)
    approved = _last_event(kit)
    await kit.schedule(case, hh, region, JAN, [(JAN, None, 144_000)], persons=2, reason="approval")
    scheduled = _last_event(kit)
    await kit.gradual_exit(case, hh, region, MAY)
    await kit.schedule(case, hh, region, JUN, [], reason="gradual_exit")
    exits = _last_event(kit)
    await _send(api, tokens, await _request(api, tokens, kit, region, MAR))
    await kit.schedule(case, hh, region, MAR, [(MAR, MAY, 156_000)], persons=2, reason="standard_rise")
    rise = _last_event(kit)
    may = await _request(api, tokens, kit, region, MAY)
    await _send(api, tokens, may)

    history = await _history(api, tokens, hh)
    assert _rows(history) == [
        (None, "2026-01", None, 144_000, 2, "approval", approved, scheduled),
        (None, "2026-01", None, 144_000, 2, "approval", scheduled, exits),
        (None, "2026-01", "2026-05", 144_000, 2, "approval", exits, rise),
        (None, "2026-01", "2026-02", 144_000, 2, "approval", rise, None),
        (None, "2026-03", "2026-05", 156_000, 2, "standard_rise", rise, None),
    ]
    assert [h["in_force"] for h in history] == [False, False, False, True, True]
    by_hand = {
        (None, "2026-01"): 144_000,
        (None, "2026-02"): 144_000,
        (None, "2026-03"): 156_000,  # 144,000 in March's batch, 12,000 提标补发 in May's
        (None, "2026-04"): 156_000,
        (None, "2026-05"): 156_000,
    }
    assert _owed_months(history, JUN) == by_hand == await _held(db, hh)


async def test_a_rise_decided_after_a_stop_shows_the_stopped_months_raised(api, tokens, kit, db):
    """低保, 1 person, 1,000.00 a month from August; October's batch pays August–October at 1,000.00. The person dies
    in October (October the last month paid). A 提标 from October (1,000.00 → 1,100.00) is decided in November:
    eligibility re-prices October for the stopped case, and November's 提标补发 batch pays October's 100.00. So the
    history says: August–September 1,000.00 (approval), October 1,100.00 (standard_rise) — nothing after October —
    what the batches paid."""
    region = village()
    case, hh = await kit.approve(region, 100_000, AUG, persons=1)
    approved = _last_event(kit)
    await kit.schedule(case, hh, region, AUG, [(AUG, None, 100_000)], persons=1, reason="approval")
    scheduled = _last_event(kit)
    await _send(api, tokens, await _request(api, tokens, kit, region, OCT))
    await kit.terminate(case, hh, region, OCT)
    await kit.schedule(case, hh, region, NOV, [], persons=1, reason="death")
    died = _last_event(kit)
    await kit.schedule(case, hh, region, OCT, [(OCT, OCT, 110_000)], persons=1, reason="standard_rise")
    rise = _last_event(kit)
    supplement = await _request(api, tokens, kit, region, NOV, "supplement")
    await _send(api, tokens, supplement)

    history = await _history(api, tokens, hh)
    assert _rows(history) == [
        (None, "2026-08", None, 100_000, 1, "approval", approved, scheduled),
        (None, "2026-08", None, 100_000, 1, "approval", scheduled, died),
        (None, "2026-08", "2026-10", 100_000, 1, "approval", died, rise),
        (None, "2026-08", "2026-09", 100_000, 1, "approval", rise, None),
        (None, "2026-10", "2026-10", 110_000, 1, "standard_rise", rise, None),
    ]
    by_hand = {(None, "2026-08"): 100_000, (None, "2026-09"): 100_000, (None, "2026-10"): 110_000}
    assert _owed_months(history, NOV) == by_hand == await _held(db, hh)


async def test_a_person_level_household_shows_each_persons_own_history(api, tokens, kit, db):
    """特困, one case for two persons of a household, 800.00 each a month from January. The second dies in March (last
    month March). A 提标 from February (800.00 → 850.00) is decided afterwards: the first is owed 850.00 from February
    on, the second 850.00 for February and March. April's batch pays the first January 800.00, February–April
    850.00; the second January 800.00, February–March 850.00. Each person's rows name the person; the case's amount
    before its first schedule (1,600.00 for the 2, as `case.approved` said) was owed to the case as one (no person)."""
    region = village()
    one, two = uuid.uuid4(), uuid.uuid4()
    case, hh = await kit.approve(region, 160_000, JAN, programme="tekun", persons=2)
    approved = _last_event(kit)

    async def owes(changed_from: Period, segments: list[tuple], reason: str) -> str:
        """The case's `case.schedule_changed`: (from, to, fen, person) a segment, 1 person each; its event id."""
        runs = [(f, t, fen, 1, person) for f, t, fen, person in segments]
        await kit.schedule(case, hh, region, changed_from, runs, programme="tekun", reason=reason)
        return _last_event(kit)

    scheduled = await owes(JAN, [(JAN, None, 80_000, one), (JAN, None, 80_000, two)], "approval")
    died = await owes(APR, [(APR, None, 80_000, one)], "death")
    rise = await owes(FEB, [(FEB, None, 85_000, one), (FEB, MAR, 85_000, two)], "standard_rise")
    await _request(api, tokens, kit, region, APR)

    history = await _history(api, tokens, hh)
    persons = {}
    for row in _rows(history):
        persons.setdefault(row[0], []).append(row[1:])
    assert persons == {
        None: [("2026-01", None, 160_000, 2, "approval", approved, scheduled)],
        str(one): [
            ("2026-01", None, 80_000, 1, "approval", scheduled, died),
            ("2026-01", "2026-03", 80_000, 1, "approval", died, rise),
            ("2026-04", None, 80_000, 1, "death", died, rise),
            ("2026-01", "2026-01", 80_000, 1, "approval", rise, None),
            ("2026-02", None, 85_000, 1, "standard_rise", rise, None),
        ],
        str(two): [
            ("2026-01", None, 80_000, 1, "approval", scheduled, died),
            ("2026-01", "2026-03", 80_000, 1, "approval", died, rise),
            ("2026-01", "2026-01", 80_000, 1, "approval", rise, None),
            ("2026-02", "2026-03", 85_000, 1, "standard_rise", rise, None),
        ],
    }
    by_hand = {
        (str(one), "2026-01"): 80_000,
        (str(one), "2026-02"): 85_000,
        (str(one), "2026-03"): 85_000,
        (str(one), "2026-04"): 85_000,
        (str(two), "2026-01"): 80_000,
        (str(two), "2026-02"): 85_000,
        (str(two), "2026-03"): 85_000,
    }
    assert _owed_months(history, APR) == by_hand == await _held(db, hh)


async def test_a_case_with_nothing_owed_on_record_shows_its_decisions_history(api, tokens, db):
    """A 低保 case decided before payments kept what is owed, whose every row was superseded by then, so the back-fill
    of `owed` (migration 0008) found nothing in force to carry over: approved at 900.00 for 3 persons from January
    2024, stopped (moved away) with December 2023 its last month, before anything was owed. Its history still shows
    its decisions' row, as it was recorded, with the beneficiary's persons."""
    region = village()
    beneficiary, case, hh, approved, ended = (uuid.uuid4() for _ in range(5))
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.beneficiaries (id, case_id, household_id, programme, region_code, "
                "monthly_amount_fen, persons, start_month, end_month, status, end_reason) "
                "VALUES (:b, :c, :h, 'dibao', :region, 90000, 3, '2024-01-01', '2023-12-01', 'stopped', 'moved')"
            ),
            {"b": beneficiary, "c": case, "h": hh, "region": region},
        )
        await conn.execute(
            text(
                "INSERT INTO payments.entitlements (beneficiary_id, from_month, to_month, monthly_amount_fen, "
                "event_id, event_type, superseded_by) VALUES "
                "(:b, '2024-01-01', NULL, 90000, :approved, 'approved', :ended)"
            ),
            {"b": beneficiary, "approved": approved, "ended": ended},
        )

    history = await _history(api, tokens, hh)
    assert _rows(history) == [(None, "2024-01", None, 90_000, 3, "approved", str(approved), str(ended))]
    assert [(h["in_force"], h["event_type"]) for h in history] == [(False, "approved")]
