"""Every case query of eligibility."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.cases.workflow import ON_ROLL, OPEN, Status
from services.eligibility.models import Case, CaseStep, HouseholdFacts

# The columns a new case is written with; its timestamps are the database's.
_CASE_COLUMNS = [c.key for c in Case.__table__.columns if c.key not in ("created_at", "updated_at")]


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        return await self.session.get(Case, case_id, with_for_update=for_update)

    async def by_application(self, application_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        query = select(Case).where(Case.application_id == application_id)
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def in_region(self, region_prefix: str, status: str | None = None, limit: int = 100) -> list[Case]:
        query = select(Case).where(Case.region_code.startswith(region_prefix))
        if status:
            query = query.where(Case.status == status)
        return list(await self.session.scalars(query.order_by(Case.opened_on, Case.id).limit(limit)))

    async def open_due_by(self, region_prefix: str, by: date, limit: int = 500) -> list[Case]:
        """Open cases whose nearest deadline is on or before `by`, most urgent first."""
        return list(await self.session.scalars(
            select(Case).where(Case.region_code.startswith(region_prefix), Case.status.in_([s.value for s in OPEN]),
                               Case.due_date <= by)
            .order_by(Case.due_date, Case.id).limit(limit)
        ))

    async def reviews_due_by(self, region_prefix: str, by: date, limit: int = 500) -> list[Case]:
        """Cases on the roll whose periodic review (定期核查) falls on or before `by`."""
        return list(await self.session.scalars(
            select(Case).where(Case.region_code.startswith(region_prefix),
                               Case.status.in_([s.value for s in ON_ROLL]), Case.next_review_on <= by)
            .order_by(Case.next_review_on, Case.id).limit(limit)
        ))

    async def open_with_provisional_due_date(self, region_prefix: str) -> list[Case]:
        """Open cases whose deadline was counted without an official calendar, to count again once it is loaded."""
        return list(await self.session.scalars(
            select(Case).where(Case.region_code.startswith(region_prefix), Case.status.in_([s.value for s in OPEN]),
                               Case.due_date_provisional)
            .order_by(Case.id).with_for_update()
        ))

    async def on_roll_of(self, household_id: uuid.UUID) -> list[Case]:
        """The household's cases on the roll, locked for a change."""
        return list(await self.session.scalars(
            select(Case).where(Case.household_id == household_id, Case.status.in_([s.value for s in ON_ROLL]))
            .order_by(Case.id).with_for_update()))

    async def on_notice(self, region_prefix: str) -> list[Case]:
        return list(await self.session.scalars(
            select(Case).where(Case.region_code.startswith(region_prefix),
                               Case.status == Status.PUBLIC_NOTICE.value)
            .order_by(Case.region_code, Case.notice_posted_on, Case.id)
        ))

    async def steps(self, case_id: uuid.UUID) -> list[CaseStep]:
        return list(await self.session.scalars(select(CaseStep).where(CaseStep.case_id == case_id)
                                               .order_by(CaseStep.id)))

    def add(self, case: Case) -> None:
        self.session.add(case)

    def add_step(self, step: CaseStep) -> None:
        self.session.add(step)

    async def latest_facts(self, household_id: uuid.UUID) -> HouseholdFacts | None:
        return await self.session.get(HouseholdFacts, household_id)

    async def applications_with_cases(self, application_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return set(await self.session.scalars(
            select(Case.application_id).where(Case.application_id.in_(application_ids))))

    async def insert(self, cases: list[Case]) -> None:
        """Many new cases in one statement (Core, no unit-of-work bookkeeping per row)."""
        await self.session.execute(insert(Case), [
            {column: getattr(case, column) for column in _CASE_COLUMNS} for case in cases])

    async def save_facts(self, facts: dict[uuid.UUID, tuple[str, dict]]) -> None:
        """The latest snapshot per household (household id → (region code, snapshot)), one statement."""
        if not facts:
            return
        stmt = insert(HouseholdFacts)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[HouseholdFacts.household_id],
                                       set_={"snapshot": stmt.excluded.snapshot,
                                             "region_code": stmt.excluded.region_code}),
            [{"household_id": h, "region_code": region, "snapshot": snapshot}
             for h, (region, snapshot) in facts.items()])
