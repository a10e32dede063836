"""特困: 特困人员救助供养."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment
from ..parameters import PeriodicMoney, annual_to_monthly_fen
from .common import (
    _candidates,
    _Context,
    _Judgement,
    _member_awards,
    _property_failures,
    _round_fen,
    _rule,
    _standard_monthly,
    member_monthly_income_fen,
    unattributed_monthly_income_fen,
    yuan,
)


def care_level(member: MemberFacts) -> str:
    """生活自理能力 level (民发〔2021〕43号): full_self_care 全自理, partial_care 半护理, full_care 全护理."""
    impossible = member.self_care.impossible_count
    if impossible == 0:
        return "full_self_care"
    return "partial_care" if impossible <= 3 else "full_care"


_CARE_LABEL = {"full_self_care": "全自理", "partial_care": "半护理", "full_care": "全护理"}


def _severe_disability_without_labour(ctx: _Context, member: MemberFacts) -> bool:
    """民发〔2021〕43号第六条: the disability categories and grades that count as 无劳动能力 (intellectual and
    mental grades 1–3, physical 1–2, visual 1; others only where the province adds them)."""
    grade, category = member.disability_grade, member.disability_category
    if grade is None or category is None:
        return False
    worst_grade: dict[str, int] = ctx.get("tekun.labour.disability_max_grade")
    return category in worst_grade and grade <= worst_grade[category]


_DISABILITY_LABEL = {
    "visual": "视力",
    "hearing": "听力",
    "speech": "言语",
    "physical": "肢体",
    "intellectual": "智力",
    "mental": "精神",
    "multiple": "多重",
}


def _minor_until(ctx: _Context, member: MemberFacts) -> date | None:
    """A minor supported for being a minor is supported until the supported minor age (in school, longer: a
    review says): the last day of it, when the rule must run again (still 特困 for another reason, it goes on)."""
    return None if member.student else member.last_day_under(ctx.get("tekun.labour.supported_minor_age"))


def _no_labour_capacity(ctx: _Context, member: MemberFacts, supported: bool) -> tuple[str | None, date | None]:
    """Why the member counts as 无劳动能力 (民发〔2021〕43号第六条), or None, and the last day a minor's reason holds
    by age; `supported`: the person is already 特困 (a minor keeps it until the supported minor age, and past it
    while in school)."""
    age = member.age_on(ctx.on)
    if age >= ctx.get("tekun.labour.elderly_age"):
        return f"{age}周岁, 老年人", None
    if age < ctx.get("tekun.labour.minor_age"):
        return f"{age}周岁, 未成年人", _minor_until(ctx, member)
    if supported and age < (until := ctx.get("tekun.labour.supported_minor_age")):
        return f"{age}周岁, 特困人员中的未成年人, 供养至{until}周岁", _minor_until(ctx, member)
    return _other_incapacity(ctx, member, supported, age), None


def _other_incapacity(ctx: _Context, member: MemberFacts, supported: bool, age: int) -> str | None:
    """无劳动能力 other than by age: a minor past the age in school, a severe disability, an assessment."""
    if supported and member.student:
        return f"{age}周岁, 特困人员中的未成年人年满{ctx.get('tekun.labour.supported_minor_age')}周岁仍在校就读"
    if _severe_disability_without_labour(ctx, member):
        label = _DISABILITY_LABEL.get(member.disability_category or "", member.disability_category)
        return f"{label}残疾{member.disability_grade}级"
    if member.labour_capacity == "none":
        return "经认定无劳动能力"
    return None


def _tekun_basic_monthly(ctx: _Context, hukou: str) -> tuple[int, str]:
    """基本生活标准 per month and how it was set: the region's amount, never below the national floor of
    a multiple of its 低保 standard."""
    multiple: Decimal = ctx.get("tekun.basic_multiple_of_dibao")
    standard: PeriodicMoney = ctx.get(f"dibao.standard.{hukou}")
    floor = annual_to_monthly_fen(_round_fen(multiple * standard.annual_fen()))
    basic: PeriodicMoney | None = ctx.get(f"tekun.basic.{hukou}")
    if basic is None:
        return floor, f"低保标准的{multiple}倍"
    if basic.monthly_fen() < floor:
        return floor, f"当地标准{yuan(basic.monthly_fen())}低于低保标准的{multiple}倍, 按{multiple}倍"
    return basic.monthly_fen(), "当地标准"


def _own_means(own: int, household: int, people: int) -> str:
    """How the person's monthly income was counted, for the reasons: their own, and income with no earner (the
    household's) — all theirs in a household of one, else their per-capita share of it."""
    if not household:
        return f"本人月收入{yuan(own)}"
    if people == 1:
        return (
            f"本人月收入{yuan(own + household)} (含未指明收入人的收入{yuan(household)}: 本户仅本人一人, 计为本人收入)"
        )
    share = _round_fen(Decimal(household) / people)
    return (
        f"本人月收入{yuan(own)} + 未指明收入人的家庭收入{yuan(household)}按共同生活家庭成员{people}人均摊{yuan(share)}"
        f" = {yuan(own + share)}"
    )


@_rule
def assess_tekun(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """特困人员救助供养 (民发〔2021〕43号): no labour capacity AND no income source AND no capable supporter.

    无生活来源: the person's own income below the 低保 standard, property within the limits. Income recorded with no
    earner is the household's: in a household of one it is that person's; in a larger one each member counts their
    per-capita share of it (as the household's property is held against per-capita limits), the reasons saying so.

    Amount per person: basic living standard (region's, at least 1.3 × 低保 standard) + care standard by
    self-care level. Only the applicant is assessed when named; a member not counted in the household (in prison,
    missing) is not supported (43号第二十条: 依法被判处刑罚且在监狱服刑的, 终止救助供养).
    """
    standard = _standard_monthly(ctx, snapshot.hukou_type)
    people = len(snapshot.counted_members())
    property_failures = _property_failures(ctx, snapshot, standard, people)
    household_income = unattributed_monthly_income_fen(snapshot)

    def judge(member: MemberFacts) -> _Judgement:
        if not member.counted:
            why = member.not_counted_reason or "不计入共同生活家庭成员"
            return _Judgement(False, reasons=(f"{why}: 不计入共同生活家庭成员, 不予救助供养",))
        reasons: list[str] = []
        eligible = True
        why_no_labour, until = _no_labour_capacity(ctx, member, app.already_supported)
        if why_no_labour:
            reasons.append(f"无劳动能力: {why_no_labour}")
        else:
            reasons.append("有劳动能力")
            eligible = False
        own_income = member_monthly_income_fen(snapshot, member)
        means = _own_means(own_income, household_income, people)
        # own + household / people < standard, multiplied out (no rounding before the test)
        if own_income * people + household_income < standard * people and not property_failures:
            reasons.append(f"无生活来源: {means}低于低保标准{yuan(standard)}, 财产符合规定")
        else:
            reasons.append(f"有生活来源: {means}" + "".join(f"; {f}" for f in property_failures))
            eligible = False
        if member.has_capable_supporter:
            reasons.append("有履行义务能力的法定义务人")
            eligible = False
        else:
            reasons.append("无履行义务能力的法定义务人")
        if member.member_id in app.orphan_member_ids:
            reasons.append("已认定为孤儿, 按孤儿保障, 不重复纳入特困")
            eligible = False
        if not eligible:
            return _Judgement(False, reasons=tuple(reasons))
        level = care_level(member)
        basic, basis = _tekun_basic_monthly(ctx, snapshot.hukou_type)
        care: PeriodicMoney = ctx.get(f"tekun.care.{level}")
        setting = "集中供养" if member.in_institution else "分散供养"
        reasons.append(
            f"基本生活标准({basis}){yuan(basic)} + 照料护理标准({_CARE_LABEL[level]}, "
            f"{member.self_care.impossible_count}项不能自理){yuan(care.monthly_fen())} = "
            f"{yuan(basic + care.monthly_fen())}"
        )
        return _Judgement(True, basic + care.monthly_fen(), f"{setting}/{_CARE_LABEL[level]}", tuple(reasons), until)

    return _member_awards("tekun", ctx, _candidates(snapshot, app, lambda m: m.counted), judge)
