"""孤儿: 孤儿基本生活费."""

from __future__ import annotations

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from .common import _candidates, _child_judge, _Context, _member_awards, _rule


@_rule
def assess_orphan(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """孤儿基本生活费: recognised orphans under 18; 福利机构 (in_institution) or 社会散居 rate."""

    def rate(member: MemberFacts) -> tuple[str, str]:
        if member.in_institution:
            return "orphan.institution", "福利机构养育孤儿"
        return "orphan.scattered", "社会散居孤儿"

    judge = _child_judge(ctx, app, app.orphan_member_ids, "孤儿", rate)
    candidates = _candidates(snapshot, app, lambda m: m.member_id in app.orphan_member_ids)
    return _member_awards("orphan", ctx, candidates, judge)
