"""医疗救助."""

from __future__ import annotations

from decimal import Decimal

from shared.core.household import HouseholdSnapshot

from ..assessment import ApplicationFacts, Assessment, MissingApplicationFacts
from .common import _Context, _round_fen, _rule, _standard_monthly, counted_monthly_income_fen, yuan

_MEDICAL_GROUP_LABEL = {
    "dibao": "低保对象",
    "tekun": "特困人员",
    "marginal": "低保边缘家庭成员",
    "returned_poverty": "返贫致贫人口",
    "illness_poverty": "因病致贫重病患者",
}


@_rule
def assess_medical(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """医疗救助: after 基本医保 and 大病保险, pay the group's ratio of the compliant cost above the
    deductible left this year (the larger of the bill's `deductible_used_fen` and what the platform's approved claims
    of the year met), up to the annual cap (less what was paid this year: the larger of the bill's `paid_this_year_fen`
    and what the platform approved the household in the calendar year of `on`). 边缘 claims also check the
    region's income line."""
    facts = app.medical
    if facts is None:
        raise MissingApplicationFacts("medical assistance needs application.medical (group and bill)")
    group = facts.group
    if group is None:
        raise MissingApplicationFacts("medical assistance needs application.medical.group (救助对象类别)")
    reasons: list[str] = [f"救助对象类别: {_MEDICAL_GROUP_LABEL[group]}"]
    if group == "marginal":
        key = (
            "medical.marginal.income_multiple"
            if ctx.has("medical.marginal.income_multiple")
            else ("marginal.income_multiple")
        )
        multiple: Decimal = ctx.get(key)
        standard = _standard_monthly(ctx, snapshot.hukou_type)
        people = len(snapshot.counted_members())
        income = counted_monthly_income_fen(snapshot)
        if not (people > 0 and Decimal(income) < multiple * standard * people):
            reasons.append(f"人均收入不低于低保标准的{multiple}倍, 不属于医疗救助边缘对象")
            return ctx.assessment("medical", False, reasons, one_off_amount_fen=0)
        reasons.append(f"人均收入低于低保标准的{multiple}倍")
    remaining = max(0, facts.compliant_fen - facts.basic_insurance_paid_fen - facts.critical_illness_paid_fen)
    deductible: int = ctx.get(f"medical.deductible.{group}")
    if deductible:
        # Met this year: the larger of what the desk states and what the platform's own approved claims of the
        # calendar year of `on` met (their compliant cost left after insurance), never their sum, as for the cap.
        stated_met = facts.deductible_used_fen
        platform_met = app.medical_deductible_used_by_year.get(ctx.on.year, 0)
        met = max(stated_met, platform_met)
        met_by = "本平台已批准" if platform_met > stated_met else "前台填报"
        reasons.append(
            f"本年起付线已用{yuan(met)}, 按{met_by} (前台填报{yuan(stated_met)}, 本平台本年已批准{yuan(platform_met)})"
        )
    else:
        met = 0
    deductible_left = max(0, deductible - met)
    base = max(0, remaining - deductible_left)
    ratio: Decimal = ctx.get(f"medical.ratio.{group}")
    amount = _round_fen(ratio * base)
    reasons.append(
        f"政策范围内自付{yuan(remaining)} − 起付线余额{yuan(deductible_left)} = {yuan(base)}, ×{ratio} = {yuan(amount)}"
    )
    cap: int | None = ctx.get(f"medical.annual_cap.{group}")
    if cap is None:
        reasons.append("不设年度封顶线")
    else:
        # Already paid this year: the larger of what the desk states (it may know of aid paid elsewhere) and what
        # the platform itself approved the household this calendar year; never their sum (the desk's may include it).
        stated, approved = facts.paid_this_year_fen, app.medical_approved_by_year.get(ctx.on.year, 0)
        paid = max(stated, approved)
        used = "本平台已批准" if approved > stated else "前台填报"
        reasons.append(f"本年已救助{yuan(paid)}, 按{used} (前台填报{yuan(stated)}, 本平台本年已批准{yuan(approved)})")
        room = max(0, cap - paid)
        if amount > room:
            reasons.append(f"年度封顶{yuan(cap)}, 本年已救助{yuan(paid)}, 按{yuan(room)}救助")
            amount = room
    if amount == 0:
        reasons.append("无可救助金额")
    return ctx.assessment("medical", amount > 0, reasons, one_off_amount_fen=amount)
