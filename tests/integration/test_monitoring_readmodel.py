"""Monitoring's read model takes a run of events at once (as the consumer hands them over, e.g. a roll import's
thousands of household.registered): the result is what applying them one by one in order leaves."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text

from services.monitoring.models import platform
from services.monitoring.readmodel.service import record_approvals, record_households
from shared.consumer import Delivery
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.db import session_factory
from shared.events.catalogue import CaseApproved, HouseholdRegistered, HouseholdUpdated, MemberIdentity, event_type
from shared.events.envelope import DomainEvent
from shared.uow import UnitOfWork

VILLAGE = "610626101201"


def _household(household_id: uuid.UUID, members: list[tuple[uuid.UUID, str]], wages_fen: int) -> HouseholdRegistered:
    snapshot = HouseholdSnapshot.model_validate(
        {
            "household_id": str(household_id),
            "region_code": VILLAGE,
            "hukou_type": "rural",
            "members": [
                {
                    "member_id": str(m),
                    "name": f"成员{i}",
                    "birth_date": "1960-01-01",
                    "sex": "male",
                    "relation": "head" if i == 0 else "child",
                }
                for i, (m, _) in enumerate(members)
            ],
            "incomes": [
                {"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": wages_fen},
                {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},  # exempt
            ],
        }
    )
    return HouseholdRegistered(
        household_id=household_id,
        region_code=VILLAGE,
        snapshot=snapshot,
        identities=[MemberIdentity(member_id=m, id_fingerprint=fp) for m, fp in members],
    )


def _delivery(data) -> Delivery:
    event = DomainEvent(event_type(type(data)), str(data.household_id), data)
    return Delivery(event.to_cloudevent("/tests", None), data)


async def test_a_run_of_household_events_leaves_what_one_by_one_would(db):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    fp = {n: f"{uuid.uuid4().hex}{n:032d}"[:64] for n in range(4)}
    m = {n: uuid.uuid4() for n in range(4)}
    first_a = _household(a, [(m[0], fp[0]), (m[1], fp[1])], 30_000)
    b_with_2 = _household(b, [(m[2], fp[2])], 10_000)
    # A later event of A drops member 1 and lowers the wages; C (later than B) lists member 2's ID number.
    updated_a = HouseholdUpdated(**_household(a, [(m[0], fp[0])], 20_000).model_dump())
    c_with_2 = _household(c, [(m[2], fp[2]), (m[3], fp[3])], 0)
    sessions = session_factory(db)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        await record_households(uow, [_delivery(e) for e in (first_a, b_with_2, updated_a, c_with_2)])
        await uow.commit()

    async with db.connect() as conn:
        households = {
            r.household_id: (r.counted_members, r.monthly_income_fen, r.per_capita_monthly_fen)
            for r in await conn.execute(
                text(
                    "SELECT household_id, counted_members, monthly_income_fen, per_capita_monthly_fen "
                    "FROM monitoring.households WHERE household_id = ANY(:ids)"
                ),
                {"ids": [a, b, c]},
            )
        }
        persons = {
            r.id_fingerprint: (r.household_id, r.member_id, r.active)
            for r in await conn.execute(
                text(
                    "SELECT id_fingerprint, household_id, member_id, active FROM monitoring.persons "
                    "WHERE household_id = ANY(:ids)"
                ),
                {"ids": [a, b, c]},
            )
        }
    # A as its last event says: one counted member, 200 yuan of wages (the pension is exempt).
    assert households == {a: (1, 20_000, 20_000), b: (1, 10_000, 10_000), c: (2, 0, 0)}
    # Member 1 left A (kept as having left it: a partner's death row still finds them); member 2 is C's (the later
    # event), no longer B's.
    assert persons == {fp[0]: (a, m[0], True), fp[1]: (a, m[1], False), fp[2]: (c, m[2], True), fp[3]: (c, m[3], True)}


async def test_a_run_of_approvals_covers_each_case_once_from_its_month(db):
    household, case, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    members = [uuid.uuid4(), uuid.uuid4()]

    def approved(case_id: uuid.UUID, programme: str, month: Period, amount: int | None, member_ids) -> CaseApproved:
        return CaseApproved(
            case_id=case_id,
            application_id=uuid.uuid4(),
            household_id=household,
            programme=programme,
            region_code=VILLAGE,
            member_ids=member_ids,
            monthly_amount_fen=amount,
            one_off_amount_fen=None if amount else 50_000,
            effective_month=month,
            decided_at="2026-01-05T00:00:00Z",
        )

    run = [
        approved(case, "dibao", Period(2026, 2), 60_000, members[:1]),
        approved(other, "temporary", Period(2026, 1), None, members),
        approved(case, "dibao", Period(2026, 3), 90_000, members),  # a replayed decision of the case: the later
    ]
    sessions = session_factory(db)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        await record_approvals(uow, [_delivery(e) for e in run])
        await uow.commit()
    async with db.connect() as conn:
        rows = {
            r.case_id: (r.programme, sorted(r.member_ids), r.active, r.since_month, r.last_month)
            for r in await conn.execute(
                text("SELECT * FROM monitoring.coverage WHERE household_id = :h"), {"h": household}
            )
        }
    assert rows == {
        case: ("dibao", sorted(members), True, date(2026, 3, 1), None),
        # One-off help covers its month only.
        other: ("temporary", sorted(members), True, date(2026, 1, 1), date(2026, 1, 1)),
    }
