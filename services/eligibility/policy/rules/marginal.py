"""低保边缘: 低保边缘家庭."""

from __future__ import annotations

from shared.core.household import HouseholdSnapshot

from ..assessment import ApplicationFacts, Assessment
from .common import _Context, _marginal_multiple_met, _means, _means_reasons, _rule


@_rule
def assess_marginal(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """低保边缘家庭: not 低保, per-capita income below 1.5× the standard (N), property within limits. No
    cash."""
    m = _means(ctx, snapshot)
    reasons = _means_reasons(m)
    eligible = True
    if "dibao" in app.household_programmes or m.below_standard:
        reasons.append("已享受或符合低保条件, 不属于低保边缘家庭")
        eligible = False
    elif not _marginal_multiple_met(ctx, m):
        multiple = ctx.get("marginal.income_multiple")
        reasons.append(f"人均收入不低于低保标准的{multiple}倍")
        eligible = False
    if m.property_failures:
        reasons.extend(m.property_failures)
        eligible = False
    if eligible:
        reasons.append("人均收入高于低保标准但低于边缘线, 财产符合规定")
    return ctx.assessment("marginal", eligible, reasons)
