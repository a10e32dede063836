"""低保: 最低生活保障."""

from __future__ import annotations

from datetime import date

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from ..parameters import IncomeTier
from .common import _Context, _marginal_multiple_met, _means, _means_reasons, _rule, member_monthly_income_fen, yuan

MINOR_AGE = 18  # 未成年人 (N, 民法典第十七条)


def is_severely_disabled(member: MemberFacts) -> bool:
    """重度残疾: grade 1–2, or grade 3 intellectual/mental (民发〔2021〕57号 单人保 wording)."""
    grade = member.disability_grade
    if grade is None:
        return False
    return grade <= 2 or (grade == 3 and member.disability_category in ("intellectual", "mental"))


def _classified_addition(ctx: _Context, member: MemberFacts) -> tuple[int, str | None]:
    """分类施保: the highest addition the member qualifies for (assumption: additions do not stack)."""
    return _addition_at_age(ctx, member, member.age_on(ctx.on))


def _addition_at_age(ctx: _Context, member: MemberFacts, age: int) -> tuple[int, str | None]:
    elderly_age: int = ctx.get("dibao.classified.elderly_age")
    # Read at every age: a member reaching the elderly age is owed it from then, so a change of its value reprices
    # the household's schedule before they reach it too (the recompute finds the cases whose pricing read the key).
    elderly_fen: int = ctx.get("dibao.classified.elderly_fen")
    options: list[tuple[int, str]] = []
    if age >= elderly_age:
        options.append((elderly_fen, "老年人"))
    if age < MINOR_AGE:
        options.append((ctx.get("dibao.classified.minor_fen"), "未成年人"))
    if is_severely_disabled(member):
        options.append((ctx.get("dibao.classified.severe_disability_fen"), "重度残疾人"))
    if member.serious_illness:
        options.append((ctx.get("dibao.classified.serious_illness_fen"), "重病患者"))
    if not options:
        return 0, None
    amount, label = max(options, key=lambda o: o[0])
    return amount, label


def _addition_holds_until(ctx: _Context, members: list[MemberFacts]) -> date | None:
    """The last day the members' additions hold by their ages alone: the day before the first birthday (18, or the
    elderly age) after which one's addition differs, with today's values (a value starting later is priced from its
    start anyway)."""
    elderly_age: int = ctx.get("dibao.classified.elderly_age")
    limits = []
    for member in members:
        age = member.age_on(ctx.on)
        now, _ = _addition_at_age(ctx, member, age)
        for limit in sorted(a for a in (MINOR_AGE, elderly_age) if a > age):
            if _addition_at_age(ctx, member, limit)[0] != now:
                limits.append(member.last_day_under(limit))
                break
    return min(limits, default=None)


def _tier_amount(tiers: tuple[IncomeTier, ...], income: int, people: int, standard_monthly: int) -> int:
    """Per-person tier amount for a household's income; 0 if no tier applies (income not below the
    standard)."""
    for tier in tiers:
        bound = standard_monthly if tier.income_below_fen is None else tier.income_below_fen
        if income < bound * people:
            return tier.amount_fen
    return 0


@_rule
def assess_dibao(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """最低生活保障 (民发〔2021〕57号): per-capita income below the standard and property within limits.

    Gap mode 补差: standard × counted members − household monthly income. Tier mode 分档: the tier's amount
    × counted members. Both add 分类施保 per member. A household above the standard but within the 低保边缘
    line may still have a severely disabled or seriously ill member covered alone (单人保).
    """
    m = _means(ctx, snapshot)
    mode: str = ctx.get(f"dibao.mode.{snapshot.hukou_type}")
    reasons = _means_reasons(m)
    counted = snapshot.counted_members()

    if m.people == 0:
        return ctx.assessment("dibao", False, [*reasons, "无共同生活家庭成员"])
    if m.property_failures:
        return ctx.assessment("dibao", False, [*reasons, *m.property_failures])

    if m.below_standard:
        reasons.append(f"人均收入低于标准: {yuan(m.net_income)} < {yuan(m.standard_monthly)}×{m.people}")
        if mode == "tier":
            tiers: tuple[IncomeTier, ...] = ctx.get(f"dibao.tiers.{snapshot.hukou_type}")
            per_person = _tier_amount(tiers, m.net_income, m.people, m.standard_monthly)
            base = per_person * m.people
            reasons.append(f"分档施保: 每人每月{yuan(per_person)}×{m.people}人 = {yuan(base)}")
        else:
            base = m.standard_monthly * m.people - m.net_income
            reasons.append(f"补差: {yuan(m.standard_monthly)}×{m.people} − {yuan(m.net_income)} = {yuan(base)}")
        additions = 0
        for member in counted:
            amount, label = _classified_addition(ctx, member)
            if amount:
                additions += amount
                reasons.append(f"分类施保({label}) {member.name} +{yuan(amount)}")
        return ctx.assessment(
            "dibao",
            True,
            reasons,
            monthly_amount_fen=base + additions,
            mode=mode,
            covered_member_ids=[c.member_id for c in counted],
            priced_until=_addition_holds_until(ctx, counted),
        )

    reasons.append(f"人均收入不低于标准: {yuan(m.net_income)} ≥ {yuan(m.standard_monthly)}×{m.people}")
    if _marginal_multiple_met(ctx, m):
        single = [c for c in counted if is_severely_disabled(c) or c.serious_illness]
        total = 0
        covered = []
        for member in single:
            if mode == "tier":
                tiers = ctx.get(f"dibao.tiers.{snapshot.hukou_type}")
                # Assumption: a single covered person gets the lowest tier, since the household is above the
                # standard.
                amount = tiers[-1].amount_fen
            else:
                amount = max(0, m.standard_monthly - member_monthly_income_fen(snapshot, member))
            addition, label = _classified_addition(ctx, member)
            if amount <= 0:
                continue
            total += amount + addition
            covered.append(member.member_id)
            reasons.append(
                f"单人保: {member.name} (重度残疾或重病, 低保边缘家庭) {yuan(amount)}"
                + (f" + 分类施保({label}) {yuan(addition)}" if addition else "")
            )
        if covered:
            return ctx.assessment(
                "dibao",
                True,
                reasons,
                monthly_amount_fen=total,
                mode="single_person",
                covered_member_ids=covered,
                priced_until=_addition_holds_until(ctx, [c for c in single if c.member_id in covered]),
            )
    return ctx.assessment("dibao", False, reasons)
