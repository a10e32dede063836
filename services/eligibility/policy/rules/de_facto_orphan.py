"""事实无人抚养儿童: 事实无人抚养儿童基本生活补贴."""

from __future__ import annotations

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from .common import _HARDSHIP_PROGRAMMES, _candidates, _child_judge, _Context, _member_awards, _rule
from .dibao import assess_dibao
from .marginal import assess_marginal


def _household_in_hardship(snapshot: HouseholdSnapshot, app: ApplicationFacts, ctx: _Context) -> str | None:
    """Why the household counts as 生活困难 (低保/特困/边缘, declared or assessed now), or None."""
    held = app.household_programmes & _HARDSHIP_PROGRAMMES
    if held:
        return f"家庭已享受{', '.join(sorted(held))}"
    for rule, label in ((assess_dibao, "低保"), (assess_marginal, "低保边缘")):
        if ctx.consult(rule, snapshot, app).eligible:
            return f"家庭符合{label}条件"
    return None


@_rule
def assess_de_facto_orphan(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """事实无人抚养儿童基本生活补贴: recognised children under 18; the higher rate in hardship or 特困
    families."""
    recognised = app.de_facto_orphan_member_ids
    candidates = _candidates(snapshot, app, lambda m: m.member_id in recognised)
    hardship: str | None = None
    if any(m.member_id in recognised for m in candidates):
        hardship = _household_in_hardship(snapshot, app, ctx)

    def rate(member: MemberFacts) -> tuple[str, str]:
        if hardship:
            return "de_facto_orphan.hardship", f"困难家庭 ({hardship})"
        return "de_facto_orphan.other", "其他 (非生活困难家庭)"

    judge = _child_judge(ctx, app, recognised, "事实无人抚养儿童", rate)
    return _member_awards("de_facto_orphan", ctx, candidates, judge)
