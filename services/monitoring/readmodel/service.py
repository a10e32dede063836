"""Monitoring's own picture of households (from intake's events) and of who receives what (from eligibility's
decisions). Partner rows wait for their household: when a person first appears, their earlier rows are matched
and run through the risk rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import BaseModel

from services.monitoring.alerts import service as alerts
from services.monitoring.alerts.repository import AlertRepository, Scope
from services.monitoring.readmodel.repository import ReadModelRepository, household_view
from shared import audit
from shared.auth import Principal
from shared.consumer import Delivery
from shared.core.period import china_today
from shared.errors import NotFound
from shared.events.catalogue import CaseApproved, CaseTerminated, HouseholdRegistered
from shared.schemas import attributes
from shared.uow import UnitOfWork


def _income(data: HouseholdRegistered) -> tuple[int, int]:
    """(counted members, counted monthly income in fen): exempt income (社会救助, 基础养老金 …) and the income
    of members who do not count are left out, as for 低保."""
    snapshot = data.snapshot
    counted = {m.member_id for m in snapshot.counted_members()}
    income = sum(
        i.monthly_amount_fen
        for i in snapshot.incomes
        if not i.exempt and (i.member_id is None or i.member_id in counted)
    )
    return len(counted), income


async def record_household(uow: UnitOfWork, data: HouseholdRegistered) -> None:
    await _record_households(uow, [data])


async def record_households(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A run of household events (registered or updated) in a few statements: each household as its last event
    describes it, its members exactly that event's; partner rows waiting for a newcomer are matched once."""
    await _record_households(uow, [d.data for d in deliveries])


async def _record_households(uow: UnitOfWork, events: Sequence[HouseholdRegistered]) -> None:
    latest = {data.household_id: data for data in events}  # a later event of a household replaces an earlier one
    repo = ReadModelRepository(uow.session)
    rows = []
    for data in latest.values():
        members, income = _income(data)
        rows.append(
            {
                "household_id": data.household_id,
                "region_code": data.region_code,
                "hukou_type": data.snapshot.hukou_type,
                "counted_members": members,
                "monthly_income_fen": income,
                "per_capita_monthly_fen": income // max(members, 1),
            }
        )
    await repo.save_households(rows)
    # Members an earlier event of the run listed and the last one no longer does left the household, as one by one.
    listed_before: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
    for data in events:
        if data is not latest[data.household_id]:
            listed_before.setdefault(data.household_id, {}).update(
                (i.id_fingerprint, i.member_id) for i in data.identities
            )
    newcomers = await repo.replace_persons(
        {
            household_id: [(i.id_fingerprint, i.member_id) for i in data.identities]
            for household_id, data in latest.items()
        },
        {household_id: list(members.items()) for household_id, members in listed_before.items()},
    )
    if not newcomers:
        return
    await AlertRepository(uow.session).lock_matching()  # sees a feed committed meanwhile (see lock_matching)
    records = await repo.records_of(newcomers)
    if records:
        await alerts.raise_alerts(uow, china_today(), "earlier feeds", Scope(record_ids=records))


async def record_approval(uow: UnitOfWork, data: CaseApproved) -> None:
    await _record_approvals(uow, [data])


async def record_approvals(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A run of approvals, one statement: each case's coverage from its effective month."""
    await _record_approvals(uow, [d.data for d in deliveries])


async def _record_approvals(uow: UnitOfWork, events: Sequence[CaseApproved]) -> None:
    """Each case's coverage; then the deaths already on file for the members of the households now covered (a
    death reported before the household applied) go through the death rule: eligibility hears of them."""
    latest = {data.case_id: data for data in events}
    repo = ReadModelRepository(uow.session)
    # One-off help (临时救助) covers its month only.
    await repo.cover_many(
        [
            (
                data,
                data.effective_month.first_day,
                data.effective_month.first_day if data.monthly_amount_fen is None else None,
            )
            for data in latest.values()
        ]
    )
    await AlertRepository(uow.session).lock_matching()  # sees a death feed committed meanwhile (see lock_matching)
    records = await repo.deaths_on_file(list({data.household_id for data in latest.values()}))
    if records:
        await alerts.raise_alerts(
            uow, china_today(), "earlier feeds", Scope(record_ids=records, kinds=frozenset({"death"}))
        )


async def record_termination(uow: UnitOfWork, data: CaseTerminated) -> None:
    await ReadModelRepository(uow.session).uncover(data.case_id, data.last_month.first_day)


class KnownHouseholdOut(BaseModel):
    """Monitoring's picture of a household: where it lives, its counted income and what it receives."""

    household_id: uuid.UUID
    region_code: str
    hukou_type: str
    counted_members: int
    members_known: int
    per_capita_monthly_fen: int
    programmes: list[str]


async def read(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID) -> KnownHouseholdOut:
    view = await household_view(uow.session, household_id)
    if view is None or not principal.covers(view.household.region_code):
        raise NotFound(f"household {household_id} not known to monitoring")
    h = view.household
    await audit.record(
        uow,
        principal,
        "household.read",
        "household",
        h.household_id,
        household_id=h.household_id,
        region_code=h.region_code,
    )
    return KnownHouseholdOut.model_validate(
        {**attributes(h, KnownHouseholdOut), "members_known": view.members, "programmes": view.programmes}
    )
