"""残疾人两项补贴: 困难残疾人生活补贴."""

from __future__ import annotations

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from .common import _candidates, _Context, _Judgement, _member_awards, _rule, yuan
from .dibao import assess_dibao


@_rule
def assess_disability_living(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """困难残疾人生活补贴: disabled members of 低保 households (declared or assessed now); amount by grade,
    with a child rate below the region's age."""
    candidates = _candidates(snapshot, app, lambda m: m.disability_grade is not None)
    on_dibao: str | None = None
    if candidates:
        if "dibao" in app.household_programmes:
            on_dibao = "家庭已享受低保"
        else:
            if ctx.consult(assess_dibao, snapshot, app).eligible:
                on_dibao = "家庭符合低保条件"

    def judge(member: MemberFacts) -> _Judgement:
        by_grade: dict[int, int] = ctx.get("disability_living.by_grade")
        reasons: list[str] = []
        eligible = True
        grade = member.disability_grade
        category = f"{grade}级" if grade else None
        if grade is None or grade not in by_grade:
            reasons.append("无持证残疾等级" if grade is None else f"{grade}级残疾不在补贴范围")
            eligible = False
        reasons.append(on_dibao or "家庭不属于低保家庭")
        if not (eligible and on_dibao and grade is not None):
            return _Judgement(False, category=category, reasons=tuple(reasons))
        age = member.age_on(ctx.on)
        child_age: int = ctx.get("disability_living.child_age")
        until = None
        if age < child_age:
            amount: int = ctx.get("disability_living.child_fen")
            reasons.append(f"{age}周岁, 未满{child_age}周岁: {yuan(amount)}/月")
            until = member.last_day_under(child_age)  # the adult rate by grade from then on
        else:
            amount = by_grade[grade]
            reasons.append(f"{grade}级残疾: {yuan(amount)}/月")
        return _Judgement(True, amount, category, tuple(reasons), until)

    return _member_awards("disability_living", ctx, candidates, judge)
