"""Programme rules: pure functions (household snapshot, date, region, parameters) → :class:`Assessment`.

Every rule reads its figures through :class:`_Context`, which records each parameter value it used in the
trace, so a decision carries its own 计算依据. No rule touches a database, the clock or the network.

Money is integer fen throughout. Comparisons of per-capita income with a standard multiply the standard by
the number of people instead of dividing the income, so no rounding happens before a threshold test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from shared.core import money
from shared.core.household import HouseholdSnapshot, MemberFacts

from .assessment import (
    ApplicationFacts,
    Assessment,
    MemberAward,
    MissingApplicationFacts,
    Programme,
    TraceEntry,
)
from .parameters import (
    IncomeTier,
    ParameterNotFound,
    ParameterSet,
    PeriodicMoney,
    annual_to_monthly_fen,
    default_parameters,
)

__all__ = [
    "RULES",
    "assess",
    "assess_de_facto_orphan",
    "assess_dibao",
    "assess_disability_care",
    "assess_disability_living",
    "assess_marginal",
    "assess_medical",
    "assess_orphan",
    "assess_rigid_expense",
    "assess_tekun",
    "assess_temporary",
    "care_level",
    "counted_monthly_income_fen",
    "is_severely_disabled",
    "member_monthly_income_fen",
    "yuan",
]

MINOR_AGE = 18  # 未成年人 (N, 民法典第十七条)
_FINANCIAL_KINDS = frozenset({"deposits", "securities", "insurance"})
_HARDSHIP_PROGRAMMES = frozenset({"dibao", "tekun", "marginal"})


# ----------------------------------------------------------------------------------------------------
# Helpers


def yuan(fen: int) -> str:
    """Fen as yuan for reasons: 123456 → '1234.56元'."""
    return f"{money.yuan(fen)}元"


def _round_fen(amount: Decimal) -> int:
    """Round a computed amount to whole fen, half up (四舍五入)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _jsonable(value: Any) -> Any:
    if isinstance(value, PeriodicMoney | IncomeTier):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


TraceKey = tuple[str, str, date]
# Per parameter set, the trace entry of each value read: the set is immutable and the entry frozen, so a consumer
# assessing thousands of households builds each entry once instead of once per household.
_TRACE_ENTRIES: WeakKeyDictionary[ParameterSet, dict[TraceKey, TraceEntry]] = WeakKeyDictionary()


@dataclass
class _Context:
    """Parameter access for one assessment, recording every value read."""

    params: ParameterSet
    on: date
    region: str
    trace: dict[TraceKey, TraceEntry] = field(default_factory=dict)
    _entries: dict[TraceKey, TraceEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._entries = _TRACE_ENTRIES.setdefault(self.params, {})

    def get(self, key: str) -> Any:
        pv = self.params.at(key, self.on, self.region)
        trace_key = (key, pv.source_region, pv.start)
        if trace_key not in self.trace:
            entry = self._entries.get(trace_key)
            if entry is None:
                entry = self._entries[trace_key] = TraceEntry(
                    key=key,
                    value=_jsonable(pv.value),
                    start=pv.start,
                    reference=pv.reference,
                    region=pv.source_region,
                )
            self.trace[trace_key] = entry
        return pv.value

    def has(self, key: str) -> bool:
        try:
            self.params.at(key, self.on, self.region)
        except ParameterNotFound:
            return False
        return True

    def trace_list(self) -> list[TraceEntry]:
        return list(self.trace.values())

    def consult(self, rule: Rule, snapshot: HouseholdSnapshot, app: ApplicationFacts) -> Assessment:
        """Another programme's rule on the same day and region, its parameter values traced here too."""
        result = rule(snapshot, self.on, self.region, self.params, app)
        for entry in result.trace:
            self.trace.setdefault((entry.key, entry.region, entry.start), entry)
        return result

    def assessment(self, programme: str, eligible: bool, reasons: list[str], **result: Any) -> Assessment:
        """The assessment with its reasons and the trace of every parameter value read for it."""
        return Assessment(programme=programme, eligible=eligible, reasons=reasons, trace=self.trace_list(), **result)


def counted_monthly_income_fen(snapshot: HouseholdSnapshot) -> int:
    """家庭月收入: non-exempt income of counted members plus household-level income (no member)."""
    counted = {m.member_id for m in snapshot.counted_members()}
    return sum(
        item.monthly_amount_fen
        for item in snapshot.incomes
        if not item.exempt and (item.member_id is None or item.member_id in counted)
    )


def member_monthly_income_fen(snapshot: HouseholdSnapshot, member: MemberFacts) -> int:
    """A member's own non-exempt monthly income."""
    return sum(i.monthly_amount_fen for i in snapshot.incomes if not i.exempt and i.member_id == member.member_id)


def is_severely_disabled(member: MemberFacts) -> bool:
    """重度残疾: grade 1–2, or grade 3 intellectual/mental (民发〔2021〕57号 单人保 wording)."""
    grade = member.disability_grade
    if grade is None:
        return False
    return grade <= 2 or (grade == 3 and member.disability_category in ("intellectual", "mental"))


def care_level(member: MemberFacts) -> str:
    """生活自理能力 level (民发〔2021〕43号): full_self_care 全自理, partial_care 半护理, full_care 全护理."""
    impossible = member.self_care.impossible_count
    if impossible == 0:
        return "full_self_care"
    return "partial_care" if impossible <= 3 else "full_care"


_CARE_LABEL = {"full_self_care": "全自理", "partial_care": "半护理", "full_care": "全护理"}
_MEDICAL_GROUP_LABEL = {
    "dibao": "低保对象",
    "tekun": "特困人员",
    "marginal": "低保边缘家庭成员",
    "returned_poverty": "返贫致贫人口",
    "illness_poverty": "因病致贫重病患者",
}


def _standard_monthly(ctx: _Context, hukou: str) -> int:
    standard: PeriodicMoney = ctx.get(f"dibao.standard.{hukou}")
    return standard.monthly_fen()


def _deductible_expenses_monthly(ctx: _Context, snapshot: HouseholdSnapshot) -> int:
    kinds: frozenset[str] = ctx.get("dibao.deductible_expense_kinds")
    total_12m = sum(e.amount_fen_12m for e in snapshot.rigid_expenses if e.kind in kinds)
    return annual_to_monthly_fen(total_12m)


def _property_failures(ctx: _Context, snapshot: HouseholdSnapshot, standard_monthly: int, people: int) -> list[str]:
    """Reasons the household's property exceeds the local limits (empty = within limits). 'other' is not
    tested."""
    failures: list[str] = []
    months: int = ctx.get("dibao.property.financial_assets_months")
    financial = sum(p.value_fen for p in snapshot.properties if p.kind in _FINANCIAL_KINDS)
    financial_limit = months * standard_monthly * max(people, 1)
    if financial > financial_limit:
        failures.append(f"金融资产{yuan(financial)}超过限额{yuan(financial_limit)}({months}个月标准×{people}人)")
    for kind, label in (("vehicle", "车辆价值"), ("business", "经营性资产")):
        limit: int = ctx.get(f"dibao.property.{kind}_value_limit_fen")
        value = sum(p.value_fen for p in snapshot.properties if p.kind == kind)
        if value > limit:
            failures.append(f"{label}{yuan(value)}超过限额{yuan(limit)}")
    max_housing: int = ctx.get("dibao.property.max_housing_units")
    housing = sum(1 for p in snapshot.properties if p.kind == "housing")
    if housing > max_housing:
        failures.append(f"住房{housing}套超过{max_housing}套")
    return failures


def _classified_addition(ctx: _Context, member: MemberFacts) -> tuple[int, str | None]:
    """分类施保: the highest addition the member qualifies for (assumption: additions do not stack)."""
    age = member.age_on(ctx.on)
    options: list[tuple[int, str]] = []
    if age >= ctx.get("dibao.classified.elderly_age"):
        options.append((ctx.get("dibao.classified.elderly_fen"), "老年人"))
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


def _tier_amount(tiers: tuple[IncomeTier, ...], income: int, people: int, standard_monthly: int) -> int:
    """Per-person tier amount for a household's income; 0 if no tier applies (income not below the
    standard)."""
    for tier in tiers:
        bound = standard_monthly if tier.income_below_fen is None else tier.income_below_fen
        if income < bound * people:
            return tier.amount_fen
    return 0


@dataclass(frozen=True)
class _Means:
    """The household means test shared by 低保, 低保边缘 and 刚性支出困难."""

    people: int
    standard_monthly: int
    gross_income: int
    deduction: int
    net_income: int
    property_failures: list[str]

    @property
    def below_standard(self) -> bool:
        return self.people > 0 and self.net_income < self.standard_monthly * self.people


def _means(ctx: _Context, snapshot: HouseholdSnapshot) -> _Means:
    people = len(snapshot.counted_members())
    standard = _standard_monthly(ctx, snapshot.hukou_type)
    gross = counted_monthly_income_fen(snapshot)
    deduction = _deductible_expenses_monthly(ctx, snapshot)
    return _Means(
        people=people,
        standard_monthly=standard,
        gross_income=gross,
        deduction=deduction,
        net_income=max(0, gross - deduction),
        property_failures=_property_failures(ctx, snapshot, standard, people),
    )


def _means_reasons(m: _Means) -> list[str]:
    reasons = [
        f"共同生活家庭成员{m.people}人",
        f"低保标准{yuan(m.standard_monthly)}/人月",
        f"家庭月收入{yuan(m.gross_income)}",
    ]
    if m.deduction:
        reasons.append(f"扣减刚性支出{yuan(m.deduction)}/月, 计算收入{yuan(m.net_income)}")
    return reasons


def _marginal_multiple_met(ctx: _Context, m: _Means) -> bool:
    multiple: Decimal = ctx.get("marginal.income_multiple")
    return m.people > 0 and Decimal(m.net_income) < multiple * m.standard_monthly * m.people


Rule = Callable[[HouseholdSnapshot, date, str, ParameterSet, ApplicationFacts | None], Assessment]


def _rule(assess: Callable[[HouseholdSnapshot, _Context, ApplicationFacts], Assessment]) -> Rule:
    """A rule as callers call it (snapshot, day, region, parameters[, application facts]); its body gets the
    parameter context of that day and region, which traces what it reads, and the facts (none given = none)."""

    def rule(
        snapshot: HouseholdSnapshot,
        on: date,
        region: str,
        params: ParameterSet,
        application: ApplicationFacts | None = None,
    ) -> Assessment:
        return assess(snapshot, _Context(params, on, region), application or ApplicationFacts())

    rule.__name__, rule.__qualname__, rule.__doc__ = assess.__name__, assess.__qualname__, assess.__doc__
    return rule


def _candidates(
    snapshot: HouseholdSnapshot, application: ApplicationFacts, default: Callable[[MemberFacts], bool]
) -> list[MemberFacts]:
    """The applicant for a person-level programme, else every member the programme would look at."""
    if application.member_id is not None:
        return [snapshot.member(application.member_id)]
    return [m for m in snapshot.members if default(m)]


@dataclass(frozen=True)
class _Judgement:
    """One person's outcome in a person-level programme, before it becomes a :class:`MemberAward`."""

    eligible: bool
    monthly_amount_fen: int = 0
    category: str | None = None
    reasons: tuple[str, ...] = ()


def _member_awards(
    programme: Programme,
    ctx: _Context,
    candidates: list[MemberFacts],
    judge: Callable[[MemberFacts], _Judgement],
    reasons: list[str] | None = None,
) -> Assessment:
    """Judge each candidate and sum the awards; the decision's reasons name each person's conditions and the
    sum, as a 低保 decision names the household's."""
    reasons = list(reasons or [])
    awards: list[MemberAward] = []
    for member in candidates:
        j = judge(member)
        amount = j.monthly_amount_fen if j.eligible else 0
        awards.append(
            MemberAward(
                member_id=member.member_id,
                eligible=j.eligible,
                monthly_amount_fen=amount,
                category=j.category,
                reasons=list(j.reasons),
            )
        )
        verdict = f"符合条件, {yuan(amount)}/月" if j.eligible else "不符合条件"
        reasons.append(f"{member.name}: {'; '.join(j.reasons)} — {verdict}")
    eligible_awards = [a for a in awards if a.eligible]
    total = sum(a.monthly_amount_fen for a in eligible_awards)
    if not awards:
        reasons.append("无符合条件的家庭成员")
    elif eligible_awards:
        reasons.append(f"合计{len(eligible_awards)}人, 每月{yuan(total)}")
    return ctx.assessment(
        programme,
        bool(eligible_awards),
        reasons,
        monthly_amount_fen=total,
        covered_member_ids=[a.member_id for a in eligible_awards],
        beneficiaries=awards,
    )


# ----------------------------------------------------------------------------------------------------
# 低保


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
                "dibao", True, reasons, monthly_amount_fen=total, mode="single_person", covered_member_ids=covered
            )
    return ctx.assessment("dibao", False, reasons)


# ----------------------------------------------------------------------------------------------------
# 低保边缘


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


# ----------------------------------------------------------------------------------------------------
# 刚性支出困难


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


# ----------------------------------------------------------------------------------------------------
# 特困


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


def _no_labour_capacity(ctx: _Context, member: MemberFacts) -> str | None:
    """Why the member counts as 无劳动能力 (民发〔2021〕43号第六条), or None."""
    age = member.age_on(ctx.on)
    if age >= ctx.get("tekun.labour.elderly_age"):
        return f"{age}周岁, 老年人"
    if age < ctx.get("tekun.labour.minor_age"):
        return f"{age}周岁, 未成年人"
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


@_rule
def assess_tekun(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """特困人员救助供养 (民发〔2021〕43号): no labour capacity AND no income source AND no capable supporter.

    Amount per person: basic living standard (region's, at least 1.3 × 低保 standard) + care standard by
    self-care level. Only the applicant is assessed when named; a member not counted in the household (in prison,
    missing) is not supported (43号第二十条: 依法被判处刑罚且在监狱服刑的, 终止救助供养).
    """
    standard = _standard_monthly(ctx, snapshot.hukou_type)
    people = len(snapshot.counted_members())
    property_failures = _property_failures(ctx, snapshot, standard, people)

    def judge(member: MemberFacts) -> _Judgement:
        if not member.counted:
            why = member.not_counted_reason or "不计入共同生活家庭成员"
            return _Judgement(False, reasons=(f"{why}: 不计入共同生活家庭成员, 不予救助供养",))
        reasons: list[str] = []
        eligible = True
        why_no_labour = _no_labour_capacity(ctx, member)
        if why_no_labour:
            reasons.append(f"无劳动能力: {why_no_labour}")
        else:
            reasons.append("有劳动能力")
            eligible = False
        own_income = member_monthly_income_fen(snapshot, member)
        if own_income < standard and not property_failures:
            reasons.append(f"无生活来源: 本人月收入{yuan(own_income)}低于低保标准{yuan(standard)}, 财产符合规定")
        else:
            reasons.append(f"有生活来源: 本人月收入{yuan(own_income)}" + "".join(f"; {f}" for f in property_failures))
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
        return _Judgement(True, basic + care.monthly_fen(), f"{setting}/{_CARE_LABEL[level]}", tuple(reasons))

    return _member_awards("tekun", ctx, _candidates(snapshot, app, lambda m: m.counted), judge)


# ----------------------------------------------------------------------------------------------------
# 临时救助


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


# ----------------------------------------------------------------------------------------------------
# 医疗救助


@_rule
def assess_medical(snapshot: HouseholdSnapshot, ctx: _Context, app: ApplicationFacts) -> Assessment:
    """医疗救助: after 基本医保 and 大病保险, pay the group's ratio of the compliant cost above the
    deductible, up to the annual cap (less what was paid this year). 边缘 claims also check the region's
    income line."""
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
    deductible_left = max(0, deductible - facts.deductible_used_fen)
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
        room = max(0, cap - facts.paid_this_year_fen)
        if amount > room:
            reasons.append(f"年度封顶{yuan(cap)}, 本年已救助{yuan(facts.paid_this_year_fen)}, 按{yuan(room)}救助")
            amount = room
    if amount == 0:
        reasons.append("无可救助金额")
    return ctx.assessment("medical", amount > 0, reasons, one_off_amount_fen=amount)


# ----------------------------------------------------------------------------------------------------
# 孤儿 / 事实无人抚养儿童


def _child_judge(
    ctx: _Context,
    app: ApplicationFacts,
    recognised: frozenset[UUID],
    label: str,
    rate: Callable[[MemberFacts], tuple[str, str]],
) -> Callable[[MemberFacts], _Judgement]:
    """Judge a child of 孤儿 / 事实无人抚养儿童: recognised, under the age limit; ``rate`` gives the parameter key
    and the category for an eligible child."""
    max_age: int = ctx.get("orphan.max_age")

    def judge(member: MemberFacts) -> _Judgement:
        reasons: list[str] = []
        eligible = member.member_id in recognised
        if eligible:
            basis = app.recognition_basis.get(member.member_id)
            reasons.append(f"经认定为{label}" + (f" ({basis})" if basis else ""))
        else:
            reasons.append(f"未认定为{label}")
        age = member.age_on(ctx.on)
        if age >= max_age:
            reasons.append(f"{age}周岁, 已满{max_age}周岁")
            eligible = False
        else:
            reasons.append(f"{age}周岁, 未满{max_age}周岁")
        if not eligible:
            return _Judgement(False, reasons=tuple(reasons))
        key, category = rate(member)
        money: PeriodicMoney = ctx.get(key)
        reasons.append(f"{category}: {yuan(money.monthly_fen())}/月")
        return _Judgement(True, money.monthly_fen(), category, tuple(reasons))

    return judge


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


# ----------------------------------------------------------------------------------------------------
# 残疾人两项补贴


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
        if age < child_age:
            amount: int = ctx.get("disability_living.child_fen")
            reasons.append(f"{age}周岁, 未满{child_age}周岁: {yuan(amount)}/月")
        else:
            amount = by_grade[grade]
            reasons.append(f"{grade}级残疾: {yuan(amount)}/月")
        return _Judgement(True, amount, category, tuple(reasons))

    return _member_awards("disability_living", ctx, candidates, judge)


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


# ----------------------------------------------------------------------------------------------------
# Dispatcher

RULES: dict[str, Rule] = {
    "dibao": assess_dibao,
    "tekun": assess_tekun,
    "marginal": assess_marginal,
    "rigid_expense": assess_rigid_expense,
    "temporary": assess_temporary,
    "medical": assess_medical,
    "orphan": assess_orphan,
    "de_facto_orphan": assess_de_facto_orphan,
    "disability_living": assess_disability_living,
    "disability_care": assess_disability_care,
}


def assess(
    programme: str,
    snapshot: HouseholdSnapshot,
    on: date,
    region: str | None = None,
    params: ParameterSet | None = None,
    application: ApplicationFacts | None = None,
) -> Assessment:
    """Run one programme's rule. ``region`` defaults to the household's village code; ``params`` to the
    shipped tree."""
    rule = RULES.get(programme)
    if rule is None:
        raise ValueError(f"unknown programme {programme!r}; expected one of {', '.join(RULES)}")
    if params is None:
        params = default_parameters()
    return rule(snapshot, on, region or snapshot.region_code, params, application)
