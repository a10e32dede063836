"""What two or more programme rules share: the parameter context that traces every value a rule reads
(:class:`_Context`), the rule decorator, income, the household means test (standard, deductible expenses,
property), and the person-level machinery (candidates, judgements, member awards, the children's judge)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from shared.core import money
from shared.core.household import HouseholdSnapshot, MemberFacts

from ..assessment import ApplicationFacts, Assessment, MemberAward, Programme, TraceEntry
from ..parameters import IncomeTier, ParameterNotFound, ParameterSet, PeriodicMoney, annual_to_monthly_fen

_FINANCIAL_KINDS = frozenset({"deposits", "securities", "insurance"})
_HARDSHIP_PROGRAMMES = frozenset({"dibao", "tekun", "marginal"})


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
    """A member's own non-exempt monthly income: what names them as its earner (income with no earner is the
    household's, `unattributed_monthly_income_fen`)."""
    return sum(i.monthly_amount_fen for i in snapshot.incomes if not i.exempt and i.member_id == member.member_id)


def unattributed_monthly_income_fen(snapshot: HouseholdSnapshot) -> int:
    """Non-exempt monthly income recorded with no earner: the household's as a whole (`IncomeItem.member_id` None)."""
    return sum(i.monthly_amount_fen for i in snapshot.incomes if not i.exempt and i.member_id is None)


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
    until: date | None = None  # the last day the judgement holds by the person's age alone (an age limit)


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
    judged: list[_Judgement] = []
    for member in candidates:
        j = judge(member)
        judged.append(j)
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
    limits = [j.until for j in judged if j.eligible and j.until is not None]
    return ctx.assessment(
        programme,
        bool(eligible_awards),
        reasons,
        monthly_amount_fen=total,
        covered_member_ids=[a.member_id for a in eligible_awards],
        beneficiaries=awards,
        valid_until=min(limits) if limits else None,
    )


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
        return _Judgement(True, money.monthly_fen(), category, tuple(reasons), member.last_day_under(max_age))

    return judge
