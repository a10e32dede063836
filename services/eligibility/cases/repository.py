"""Every case query of eligibility."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.cases.workflow import ON_ROLL, OPEN, Status
from services.eligibility.models import Case, CaseStep, HouseholdFacts


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

    async def save_facts(self, household_id: uuid.UUID, region_code: str, snapshot: dict) -> None:
        stmt = insert(HouseholdFacts).values(household_id=household_id, region_code=region_code, snapshot=snapshot)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=[HouseholdFacts.household_id],
            set_={"snapshot": stmt.excluded.snapshot, "region_code": stmt.excluded.region_code}))
