"""The roll's set-based handlers against real PostgreSQL: a run of decisions and payee changes handed to the consumer
at once leaves exactly what the same events leave one by one (roll, entitlement history, awards, payees, audit,
events), each event raised carrying its own cause's correlation id."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from sqlalchemy import text

from services.payments.roll.repository import BeneficiaryRepository, OwedRepository
from shared.core.period import Period
from shared.events.catalogue import (
    BeneficiaryEnrolled,
    CaseAmountChanged,
    CaseApproved,
    CaseTerminated,
    GradualExitStarted,
    PayeeChanged,
    event_type,
)
from tests.payments_kit import PaymentsKit, village
from tests.plans_kit import nodes, show, statement_plans

P = Period(2026, 7)


def _decisions(kit: PaymentsKit, region: str) -> tuple[dict[str, uuid.UUID], list[ConsumerRecord]]:
    """Households a (dibao, changed, backdated, 渐退, lifted, 停保), b (stopped, then a late change), c (a one-off
    approved twice) and payee changes out of order; interleaved so runs hold several events of one case."""
    hh = {k: uuid.uuid4() for k in "abc"}
    case = {k: uuid.uuid4() for k in "abc"}

    def approved(k: str, monthly: int | None, one_off: int | None = None) -> CaseApproved:
        return CaseApproved(
            case_id=case[k],
            application_id=uuid.uuid4(),
            household_id=hh[k],
            programme="dibao",
            region_code=region,
            member_ids=[uuid.uuid4(), uuid.uuid4()],
            monthly_amount_fen=monthly,
            one_off_amount_fen=one_off,
            effective_month=P,
            decided_at=datetime(2026, 7, 3, tzinfo=UTC),
        )

    def changed(k: str, before: int, after: int, month: Period, case_id: uuid.UUID | None = None) -> CaseAmountChanged:
        return CaseAmountChanged(
            case_id=case_id or case[k],
            household_id=hh[k],
            programme="dibao",
            region_code=region,
            previous_monthly_amount_fen=before,
            monthly_amount_fen=after,
            effective_month=month,
        )

    def ended(k: str, last: Period, reason: str | None = None) -> GradualExitStarted | CaseTerminated:
        common = {
            "case_id": case[k],
            "household_id": hh[k],
            "programme": "dibao",
            "region_code": region,
            "last_month": last,
        }
        return CaseTerminated(**common, reason=reason) if reason else GradualExitStarted(**common)

    def payee(k: str, last4: str | None, minutes: int) -> PayeeChanged:
        sealed = None if last4 is None else f"sealed-{last4}"
        at = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=minutes)
        return PayeeChanged(
            household_id=hh[k],
            region_code=region,
            key_id="k1" if last4 else None,
            sealed=sealed,
            account_last4=last4,
            changed_at=at,
        )

    events = [
        payee("a", "1111", 1),
        payee("a", "2222", 3),
        payee("a", "0000", 2),
        payee("b", None, 1),
        approved("a", 50_000),
        approved("b", 30_000),
        approved("c", None, 100_000),
        approved("c", None, 100_000),
        changed("a", 50_000, 55_000, P.next()),
        changed("a", 55_000, 52_000, P),
        changed("b", 30_000, 31_000, P),
        ended("a", P.plus(2)),
        changed("a", 52_000, 40_000, P.plus(3)),
        ended("b", P.next(), "death"),
        ended("a", P.plus(5), "moved"),
        changed("c", 0, 1, P, case_id=uuid.uuid4()),  # never on the roll: no effect
        changed("b", 31_000, 35_000, P),  # after 停保: the history keeps its end
    ]
    # Each event its own correlation id, as if each came from its own request.
    return hh, [kit.record(e, e.household_id, uuid.uuid4().hex) for e in events]


async def _state(db, hh: dict[str, uuid.UUID]) -> dict:
    letter = {v: k for k, v in hh.items()}
    params = {"ids": list(hh.values()), "enrolled": event_type(BeneficiaryEnrolled)}
    async with db.connect() as conn:

        async def rows(sql: str) -> list:
            return [(letter[r[0]], *r[1:]) for r in (await conn.execute(text(sql), params)).all()]

        return {
            "roll": sorted(
                await rows(
                    "SELECT household_id, programme, monthly_amount_fen, persons, start_month, end_month, status, "
                    "end_reason FROM payments.beneficiaries WHERE household_id = ANY(:ids)"
                )
            ),
            # Per household in the order written (a stable sort by letter keeps the id order).
            "history": sorted(
                await rows(
                    "SELECT b.household_id, e.from_month, e.to_month, e.monthly_amount_fen, e.event_type, "
                    "e.superseded_by IS NULL FROM payments.entitlements e JOIN payments.beneficiaries b "
                    "ON b.id = e.beneficiary_id WHERE b.household_id = ANY(:ids) ORDER BY e.id"
                ),
                key=lambda r: r[0],
            ),
            "awards": sorted(
                await rows(
                    "SELECT household_id, amount_fen, persons FROM payments.one_off_awards "
                    "WHERE household_id = ANY(:ids)"
                )
            ),
            "payees": sorted(
                await rows(
                    "SELECT c.household_id, p.account_last4 FROM payments.current_payees c "
                    "LEFT JOIN payments.payees p ON p.id = c.payee_id WHERE c.household_id = ANY(:ids)"
                )
            ),
            "audit": sorted(
                await rows(
                    "SELECT household_id, action, count(*) FROM payments.audit_log WHERE household_id = ANY(:ids) "
                    "GROUP BY household_id, action"
                )
            ),
            "enrolled": sorted(
                await rows(
                    "SELECT (payload->'data'->>'household_id')::uuid, count(*) FROM payments.outbox "
                    "WHERE type = :enrolled AND (payload->'data'->>'household_id')::uuid = ANY(:ids) "
                    "GROUP BY 1"
                )
            ),
        }


async def test_a_run_at_once_leaves_what_the_events_leave_one_by_one(db):
    kit = PaymentsKit(db)
    hh_single, single = _decisions(kit, village())
    for record in single:
        await kit.consumer.process([record])
    hh_run, run = _decisions(kit, village())
    await kit.consumer.process(run)

    one_by_one, at_once = await _state(db, hh_single), await _state(db, hh_run)
    assert at_once == one_by_one
    # And what that is, so both cannot be wrong the same way.
    history_a = [r[1:] for r in at_once["history"] if r[0] == "a"]
    in_force_a = [r[:3] for r in history_a if r[4]]
    assert in_force_a == [
        (P.first_day, P.plus(2).first_day, 52_000),
        (P.plus(3).first_day, P.plus(5).first_day, 40_000),
    ]
    assert len(history_a) == 7  # two rows of the run were superseded within it, and are kept
    assert [r[1:] for r in at_once["roll"]] == [
        ("dibao", 40_000, 2, P.first_day, P.plus(5).first_day, "stopped", "moved"),
        ("dibao", 35_000, 2, P.first_day, P.next().first_day, "stopped", "death"),
    ]
    assert at_once["awards"] == [("c", 100_000, 2)]
    assert at_once["payees"] == [("a", "2222"), ("b", None)]
    assert ("a", "beneficiary.enroll", 1) in at_once["audit"] and ("c", "award.record", 1) in at_once["audit"]
    assert at_once["enrolled"] == [("a", 1), ("b", 1)]


async def test_events_raised_by_a_run_carry_their_own_causes_correlation_ids(db):
    kit = PaymentsKit(db)
    hh, records = _decisions(kit, village())
    await kit.consumer.process(records)
    async with db.connect() as conn:
        raised = (
            await conn.execute(
                text(
                    "SELECT payload->'data'->>'case_id', payload->>'correlationid' FROM payments.outbox "
                    "WHERE (payload->'data'->>'household_id')::uuid = ANY(:ids)"
                ),
                {"ids": list(hh.values())},
            )
        ).all()
        audited = (
            (
                await conn.execute(
                    text(
                        "SELECT correlation_id FROM payments.audit_log WHERE action = 'beneficiary.enroll' "
                        "AND household_id = ANY(:ids)"
                    ),
                    {"ids": list(hh.values())},
                )
            )
            .scalars()
            .all()
        )
    causes = {}
    for r in records:
        envelope = json.loads(r.value)
        if envelope["type"] == event_type(CaseApproved) and envelope["data"].get("monthly_amount_fen"):
            causes[envelope["data"]["case_id"]] = envelope["correlationid"]
    assert len(causes) == 2 and len(set(causes.values())) == 2
    assert dict(raised) == causes
    assert sorted(audited) == sorted(causes.values())


async def test_the_already_applied_look_ups_read_indexes_not_the_whole_history(db):
    """Every run asks which of its events already shaped a history: by the event that wrote a row, or by the one
    that superseded it. Answered by a scan of `owed` and `entitlements`, a province's import (350,000 households)
    read the whole history once per run — a cost growing with the square of the roll."""
    region, beneficiary = village(), uuid.uuid4()
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.beneficiaries (id, case_id, household_id, programme, region_code, "
                "monthly_amount_fen, persons, start_month, status) "
                "VALUES (:b, gen_random_uuid(), gen_random_uuid(), 'dibao', :r, 30000, 1, DATE '2026-01-01', 'active')"
            ),
            {"b": beneficiary, "r": region},
        )
        # A tenth superseded, as a roll's history is after a few reviews and rises.
        superseded = "CASE WHEN g % 10 = 0 THEN gen_random_uuid() END"
        await conn.execute(
            text(
                "INSERT INTO payments.owed (household_id, programme, member_id, region_code, case_id, persons, "
                "from_month, amount_fen, event_id, reason, superseded_by) "
                "SELECT gen_random_uuid(), 'dibao', CAST(:nil AS uuid), :r, gen_random_uuid(), 1, DATE '2026-01-01', "
                f"30000, gen_random_uuid(), 'approval', {superseded} FROM generate_series(1, 60000) g"
            ),
            {"r": region, "nil": uuid.UUID(int=0)},
        )
        await conn.execute(
            text(
                "INSERT INTO payments.entitlements (beneficiary_id, from_month, monthly_amount_fen, event_id, "
                f"event_type, superseded_by) SELECT :b, DATE '2026-01-01', 30000, gen_random_uuid(), 'approved', "
                f"{superseded} FROM generate_series(1, 60000) g"
            ),
            {"b": beneficiary},
        )
        await conn.execute(text("ANALYZE payments.owed, payments.entitlements"))
    run = [uuid.uuid4() for _ in range(100)]
    try:
        for table, call in (
            ("owed", lambda s: OwedRepository(s).applied(run)),
            ("entitlements", lambda s: BeneficiaryRepository(s).decisions_applied(run)),
        ):
            (plan,) = await statement_plans(db, call)
            scans = [n for n in nodes(plan) if n.get("Relation Name") == table]
            assert len(scans) == 2 and not any(n["Node Type"] == "Seq Scan" for n in scans), show(scans)
    finally:
        # The village's 60,000 people owed money with no payee would otherwise join other tests' township batches.
        async with db.begin() as conn:
            await conn.execute(text("DELETE FROM payments.owed WHERE region_code = :r"), {"r": region})
            await conn.execute(text("DELETE FROM payments.entitlements WHERE beneficiary_id = :b"), {"b": beneficiary})
            await conn.execute(text("DELETE FROM payments.beneficiaries WHERE id = :b"), {"b": beneficiary})
