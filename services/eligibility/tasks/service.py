"""The worklist (待办): the open cases of the caller's region that hold a step of the procedure its roles may take
now, read a page at a time in deadline order. Which steps a case holds is the workflow's rule (`worklist_steps`),
the same that answers a case's `next_steps` and accepts its POSTs."""

from __future__ import annotations

from datetime import timedelta

from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import CaseQuery
from services.eligibility.cases.workflow import STEPS, CaseStep, Worklist, worklist_steps
from services.eligibility.tasks.schemas import TaskOut, TaskPage, TaskQuery, TaskStep
from shared import audit
from shared.auth import Principal
from shared.core.period import china_today
from shared.pagination import narrowed
from shared.uow import UnitOfWork

# Reads of candidates per page at most: a page short of `limit` still carries `next`, so a walk loses nothing.
_ROUNDS = 4
# The window of reviews a worklist counts: GET /cases/reviews-due's default.
_REVIEWS_WITHIN = timedelta(days=30)


async def worklist(uow: UnitOfWork, principal: Principal, query: TaskQuery) -> TaskPage:
    today = china_today()
    prefix = narrowed(principal.region, query.region)
    items: list[TaskOut] = []
    cursor, total, reviews = query.cursor, 0, None
    reviewer = bool(set(STEPS[CaseStep.REVIEW].roles) & principal.roles)
    if prefix is not None:
        repo, holds = CaseRepository(uow.session), Worklist.of(principal.roles)
        if reviewer:
            before = today + _REVIEWS_WITHIN + timedelta(days=1)
            reviews = await repo.count_reviews_due(prefix, before, query.programme)
        for round_ in range(_ROUNDS):
            cases = CaseQuery(programme=query.programme, cursor=cursor, limit=query.limit - len(items))
            page = await repo.page(prefix, cases, worklist=holds)
            total = page.total if round_ == 0 else total
            for case in page.rows:
                steps = worklist_steps(case.state, principal.roles)
                if steps and case.due_date is not None:
                    items.append(
                        TaskOut(
                            case_id=case.id,
                            household_id=case.household_id,
                            programme=case.programme,
                            region_code=case.region_code,
                            status=case.status.value,
                            opened_on=case.opened_on,
                            due_date=case.due_date,
                            due_date_provisional=case.due_date_provisional,
                            overdue=case.due_date < today,
                            steps=[TaskStep(step=s, path=f"/cases/{case.id}/{s}") for s in steps],
                        )
                    )
            cursor = page.next
            if cursor is None or len(items) >= query.limit:
                break
    # Each case shown is a read of its household's data (the cases read but not shown are not).
    await audit.record(
        uow,
        principal,
        "case.tasks",
        "case",
        [{"resource_id": t.case_id, "household_id": t.household_id, "region_code": t.region_code} for t in items],
    )
    return TaskPage(items=items, next=cursor, total=total, today=today, reviews_due=reviews)
