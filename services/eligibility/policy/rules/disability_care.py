"""残疾人两项补贴: 重度残疾人护理补贴."""

from __future__ import annotations

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from .common import _candidates, _Context, _Judgement, _member_awards, _rule, yuan


@_rule
def assess_disability_care(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """重度残疾人护理补贴: grades the region pays (1–2), with a long-term care need where the region
    requires one. Not means-tested."""

    def judge(member: MemberFacts) -> _Judgement:
        by_grade: dict[int, int] = ctx.get("disability_care.by_grade")
        needs_care: bool = ctx.get("disability_care.requires_care_need")
        reasons: list[str] = []
        eligible = True
        grade = member.disability_grade
        if grade is None or grade not in by_grade:
            reasons.append("无持证残疾等级" if grade is None else f"{grade}级残疾不属于重度残疾人护理补贴范围")
            eligible = False
        if needs_care and member.self_care.impossible_count == 0:
            reasons.append("生活能自理, 无长期照护需要")
            eligible = False
        category = f"{grade}级" if grade else None
        if not eligible or grade is None:
            return _Judgement(False, category=category, reasons=tuple(reasons))
        reasons.append(f"{grade}级残疾: {yuan(by_grade[grade])}/月")
        return _Judgement(True, by_grade[grade], category, tuple(reasons))

    candidates = _candidates(snapshot, app, lambda m: m.disability_grade is not None)
    return _member_awards("disability_care", ctx, candidates, judge)
