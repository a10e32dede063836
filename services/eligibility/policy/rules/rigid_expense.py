"""刚性支出困难: 刚性支出困难家庭."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from shared.core.household import HouseholdSnapshot

from ..assessment import ApplicationFacts, Assessment
from ..parameters import PeriodicMoney
from .common import _HARDSHIP_PROGRAMMES, _Context, _marginal_multiple_met, _means, _means_reasons, _rule, yuan


def _one_year_status_end(on: date) -> date:
    """Last day of a status valid 12 months from ``on``."""
    try:
        anniversary = on.replace(year=on.year + 1)
    except ValueError:  # 29 February
        anniversary = date(on.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


@_rule
def assess_rigid_expense(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """刚性支出困难家庭: not 低保/特困/边缘; per-capita income below last year's local per-capita disposable
    income; 12-month rigid spending above the local share of 12-month household income. Valid at most 12
    months."""
    m = _means(ctx, snapshot)
    reasons = _means_reasons(m)
    eligible = True
    held = app.household_programmes & _HARDSHIP_PROGRAMMES
    if held:
        reasons.append(f"已享受{', '.join(sorted(held))}, 不重复认定")
        eligible = False
    elif m.below_standard and not m.property_failures:
        reasons.append("符合低保条件, 应按低保认定")
        eligible = False
    elif not m.below_standard and _marginal_multiple_met(ctx, m) and not m.property_failures:
        reasons.append("符合低保边缘条件, 应按低保边缘认定")
        eligible = False

    disposable: PeriodicMoney = ctx.get(f"local.disposable_income.{snapshot.hukou_type}")
    income_12m = m.gross_income * 12
    if not (m.people > 0 and income_12m < disposable.annual_fen() * m.people):
        reasons.append(f"人均年收入不低于上年当地居民人均可支配收入{yuan(disposable.annual_fen())}")
        eligible = False
    share: Decimal = ctx.get("rigid_expense.share_of_income")
    rigid_12m = sum(e.amount_fen_12m for e in snapshot.rigid_expenses)
    if Decimal(rigid_12m) > share * income_12m:
        reasons.append(f"近12个月刚性支出{yuan(rigid_12m)}超过家庭年收入{yuan(income_12m)}的{share}")
    else:
        reasons.append(f"近12个月刚性支出{yuan(rigid_12m)}未超过家庭年收入{yuan(income_12m)}的{share}")
        eligible = False
    return ctx.assessment(
        "rigid_expense", eligible, reasons, valid_until=_one_year_status_end(ctx.on) if eligible else None
    )
