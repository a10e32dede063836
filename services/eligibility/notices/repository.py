"""The query of the long-term public notice (长期公示): the cases on the roll of a township or village, with only
the columns a notice may show or needs to pick the person it names (never incomes, illnesses or the trace)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import column, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.cases.workflow import ON_ROLL
from services.eligibility.models import Case as CaseRow


@dataclass(frozen=True)
class RollEntry:
    """A case paid monthly now: where, what, how much, since when, and its members' names and relations."""

    region_code: str
    programme: str
    monthly_amount_fen: int
    effective_month: date
    applicant_member_id: str | None
    members: list[dict[str, Any]]
    covered: list[str]  # the members the assessment covers (empty: every counted member)
    id: uuid.UUID
    segments: list[dict[str, Any]]  # the stored schedule's segments (empty: a case of before schedules)
    household_id: uuid.UUID  # a household with two programmes is one household in the 合计


class NoticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current_recipients(self, region_prefix: str, month: date) -> list[RollEntry]:
        """Cases on the roll with a monthly amount (approved, paid from their effective month; or in 渐退 up to its
        last month, not yet past `month`, a first day), by village, programme and start month. Members carry only
        id, name, relation and whether counted: the rest of the snapshot never leaves the database."""
        member = func.jsonb_array_elements(CaseRow.snapshot["members"]).table_valued(column("value", JSONB))
        facts = member.c.value
        members = (
            select(
                func.coalesce(
                    func.jsonb_agg(
                        func.jsonb_build_object(
                            "member_id",
                            facts["member_id"],
                            "name",
                            facts["name"],
                            "relation",
                            facts["relation"],
                            "counted",
                            func.coalesce(facts["counted"], func.to_jsonb(True)),
                        )
                    ),
                    func.jsonb_build_array(),
                )
            )
            .select_from(member)
            .scalar_subquery()
        )
        covered = func.coalesce(CaseRow.assessment["covered_member_ids"], func.jsonb_build_array())
        query = (
            select(
                CaseRow.region_code,
                CaseRow.programme,
                CaseRow.monthly_amount_fen,
                CaseRow.effective_month,
                CaseRow.details["applicant_member_id"].astext,
                members,
                covered,
                CaseRow.id,
                func.coalesce(CaseRow.schedule["segments"], func.jsonb_build_array()),
                CaseRow.household_id,
            )
            .where(
                CaseRow.region_code.startswith(region_prefix),
                CaseRow.status.in_([s.value for s in ON_ROLL]),
                CaseRow.monthly_amount_fen.is_not(None),
                or_(CaseRow.exit_last_month.is_(None), CaseRow.exit_last_month >= month),
            )
            .order_by(CaseRow.region_code, CaseRow.programme, CaseRow.effective_month, CaseRow.id)
        )
        return [RollEntry(*row) for row in await self.session.execute(query)]
