"""临时救助."""

from __future__ import annotations

from decimal import Decimal

from shared.core.household import HouseholdSnapshot

from ..assessment import ApplicationFacts, Assessment, MissingApplicationFacts
from ..parameters import PeriodicMoney
from .common import _Context, _round_fen, _rule, _standard_monthly, counted_monthly_income_fen, yuan


@_rule
def assess_temporary(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """临时救助: 急难型 (help first, no means test beforehand) or 支出型 (income below last year's local
    per-capita disposable income). One-off, capped at a multiple of the monthly 低保 standard; the approver
    depends on the amount.

    ``region`` is where the emergency happened, which need not be the household's 户籍.
    """
    facts = app.temporary
    if facts is None:
        raise MissingApplicationFacts("temporary assistance needs application.temporary (type, requested_amount_fen)")
    standard = _standard_monthly(ctx, snapshot.hukou_type)
    reasons: list[str] = []
    eligible = facts.requested_amount_fen > 0
    if not eligible:
        reasons.append("申请金额为0")
    if facts.type == "emergency":
        reasons.append("急难型: 先行救助, 事后补充材料, 不事先核对家庭经济状况")
        cap_multiple: Decimal | None = ctx.get("temporary.emergency.cap_multiple")
    else:
        cap_multiple = ctx.get("temporary.expenditure.cap_multiple")
        people = len(snapshot.counted_members())
        income_12m = counted_monthly_income_fen(snapshot) * 12
        disposable: PeriodicMoney = ctx.get(f"local.disposable_income.{snapshot.hukou_type}")
        if people > 0 and income_12m < disposable.annual_fen() * people:
            reasons.append(f"支出型: 人均年收入低于上年人均可支配收入{yuan(disposable.annual_fen())}")
        else:
            reasons.append(f"支出型: 人均年收入不低于上年人均可支配收入{yuan(disposable.annual_fen())}")
            eligible = False
    amount = facts.requested_amount_fen
    if cap_multiple is not None:
        cap = _round_fen(cap_multiple * standard)
        if amount > cap:
            reasons.append(f"超过救助上限{yuan(cap)} ({cap_multiple}个月低保标准), 按上限救助")
            amount = cap
    threshold: int = ctx.get("temporary.county_approval_above_fen")
    if not eligible:
        return ctx.assessment("temporary", False, reasons, one_off_amount_fen=0)
    approver = "county_joint_meeting" if amount > threshold else "township"
    reasons.append(
        f"救助金额{yuan(amount)}"
        + (
            f"超过{yuan(threshold)}, 报县困难群众生活保障联席会议审批"
            if amount > threshold
            else f"不超过{yuan(threshold)}, 由乡镇(街道)审批并报县民政局备案"
        )
    )
    return ctx.assessment(
        "temporary",
        True,
        reasons,
        one_off_amount_fen=amount,
        required_approver=approver,
        covered_member_ids=[c.member_id for c in snapshot.counted_members()],
    )
