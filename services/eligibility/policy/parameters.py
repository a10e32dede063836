"""Eligibility's dated, per-region policy parameters (政策参数): its keys and value types.

The YAML tree lives in ``parameters/`` next to this module; loading, validation, inheritance by region code
and dated lookup are the platform's (:mod:`shared.dated_parameters`, which documents the file layout). Every
key must be declared in :data:`SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.core.workdays import HolidaySchedule
from shared.dated_parameters import (
    NATIONAL,
    DatedParameters,
    ParameterError,
    ParameterNotFound,
    ParameterSpec,
    ParameterValue,
    PeriodicMoney,
    PolicyLoadError,
    _parse_date,
    annual_to_monthly_fen,
    region_chain,
)
from shared.dated_parameters import (
    age as _age,
)
from shared.dated_parameters import (
    boolean as _bool,
)
from shared.dated_parameters import (
    count as _count,
)
from shared.dated_parameters import (
    enum as _enum,
)
from shared.dated_parameters import (
    fen as _fen,
)
from shared.dated_parameters import (
    money as _money,
)
from shared.dated_parameters import (
    money_or_none as _money_or_none,
)
from shared.dated_parameters import (
    periodic as _periodic,
)
from shared.dated_parameters import (
    periodic_or_none as _periodic_or_none,
)
from shared.dated_parameters import (
    ratio as _ratio,
)
from shared.dated_parameters import (
    ratio_or_none as _ratio_or_none,
)
from shared.events.catalogue import PROGRAMMES, MedicalGroup

__all__ = [
    "DEFAULT_DIRECTORY",
    "NATIONAL",
    "SCHEMA",
    "IncomeTier",
    "ParameterError",
    "ParameterNotFound",
    "ParameterSet",
    "ParameterSpec",
    "ParameterValue",
    "PeriodicMoney",
    "PolicyLoadError",
    "annual_to_monthly_fen",
    "default_parameters",
    "region_chain",
]

DEFAULT_DIRECTORY = Path(__file__).parent / "parameters"


@dataclass(frozen=True)
class IncomeTier:
    """One tier of 分档施保: households with per-capita monthly income below ``income_below_fen`` (``None``
    = below the 低保 standard) get ``amount_fen`` per counted member per month."""

    income_below_fen: int | None
    amount_fen: int

    def to_json(self) -> dict[str, Any]:
        return {"income_below_fen": self.income_below_fen, "amount_fen": self.amount_fen}


def _tiers(raw: Any) -> tuple[IncomeTier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("expected a non-empty list of tiers")
    tiers: list[IncomeTier] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != {"income_below_fen", "amount_fen"}:
            raise ValueError(f"tier {i}: expected {{income_below_fen, amount_fen}}, got {item!r}")
        bound = None if item["income_below_fen"] is None else _fen(item["income_below_fen"])
        tiers.append(IncomeTier(income_below_fen=bound, amount_fen=_fen(item["amount_fen"])))
    bounds = [t.income_below_fen for t in tiers]
    if any(b is None for b in bounds[:-1]):
        raise ValueError("only the last tier may have income_below_fen: null (below the standard)")
    fixed = [b for b in bounds if b is not None]
    if fixed != sorted(set(fixed)):
        raise ValueError("tier bounds must be strictly increasing")
    return tuple(tiers)


def _by_grade(raw: Any) -> dict[int, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("expected a mapping of disability grade (1-4) to fen")
    result: dict[int, int] = {}
    for grade, amount in raw.items():
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 4:
            raise ValueError(f"grade must be 1-4, got {grade!r}")
        result[grade] = _fen(amount)
    return dict(sorted(result.items()))


def _expense_kinds(raw: Any) -> frozenset[str]:
    allowed = {"medical", "education", "rehabilitation", "other"}
    if not isinstance(raw, list) or any(k not in allowed for k in raw):
        raise ValueError(f"expected a list drawn from {sorted(allowed)}, got {raw!r}")
    return frozenset(raw)


_DISABILITY_CATEGORIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")


def _max_grade_by_category(raw: Any) -> dict[str, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("expected a mapping of disability category to the highest grade number (1-4) counted")
    result: dict[str, int] = {}
    for category, grade in raw.items():
        if category not in _DISABILITY_CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(_DISABILITY_CATEGORIES)}, got {category!r}")
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 4:
            raise ValueError(f"{category}: grade must be 1-4, got {grade!r}")
        result[str(category)] = grade
    return result


def _programmes(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or any(p not in PROGRAMMES for p in raw):
        raise ValueError(f"expected a list drawn from {', '.join(PROGRAMMES)}, got {raw!r}")
    return frozenset(raw)


def _holiday_schedule(raw: Any) -> HolidaySchedule:
    if not isinstance(raw, Mapping) or not {"year", "holidays"} <= set(raw) <= {"year", "holidays", "workdays"}:
        raise ValueError(f"expected {{year, holidays: [dates], workdays: [dates]}}, got {raw!r}")
    year = raw["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"year must be an integer, got {year!r}")

    def dates(name: str) -> frozenset[date]:
        values = raw.get(name) or []
        if not isinstance(values, list):
            raise ValueError(f"{name} must be a list of dates")
        return frozenset(_parse_date(v, name) for v in values)

    holidays = dates("holidays")
    if not holidays:
        raise ValueError("holidays: the schedule lists at least 元旦 and 春节")
    return HolidaySchedule(year, holidays, dates("workdays"))


_MEDICAL_GROUPS: tuple[str, ...] = MedicalGroup.__args__  # type: ignore[attr-defined]

#: Every known parameter key. N = national rule, L = local (province/city/county) rule.
SCHEMA: dict[str, ParameterSpec] = {
    # 低保
    "dibao.mode.rural": ParameterSpec(_enum("gap", "tier"), "L: 补差 (gap) or 分档 (tier) for rural 低保"),
    "dibao.mode.urban": ParameterSpec(_enum("gap", "tier"), "L: 补差 (gap) or 分档 (tier) for urban 低保"),
    "dibao.standard.rural": ParameterSpec(_periodic, "L: rural 低保 standard per person"),
    "dibao.standard.urban": ParameterSpec(_periodic, "L: urban 低保 standard per person"),
    "dibao.tiers.rural": ParameterSpec(_tiers, "L: rural 分档 tiers and their placement by per-capita income"),
    "dibao.tiers.urban": ParameterSpec(_tiers, "L: urban 分档 tiers and their placement by per-capita income"),
    "dibao.classified.elderly_age": ParameterSpec(_age, "L: 分类施保 elderly from this age"),
    "dibao.classified.elderly_fen": ParameterSpec(_money, "L: 分类施保 monthly addition for an elderly member"),
    "dibao.classified.minor_fen": ParameterSpec(_money, "L: 分类施保 monthly addition for a member under 18"),
    "dibao.classified.severe_disability_fen": ParameterSpec(
        _money, "L: 分类施保 monthly addition for a severely disabled member"
    ),
    "dibao.classified.serious_illness_fen": ParameterSpec(
        _money, "L: 分类施保 monthly addition for a seriously ill member"
    ),
    "dibao.property.financial_assets_months": ParameterSpec(
        _count, "L: per-capita deposits+securities+insurance may not exceed this many months of the standard"
    ),
    "dibao.property.vehicle_value_limit_fen": ParameterSpec(_money, "L: total vehicle value limit"),
    "dibao.property.max_housing_units": ParameterSpec(_count, "L: most housing units a household may own"),
    "dibao.property.business_value_limit_fen": ParameterSpec(_money, "L: business assets value limit"),
    "dibao.deductible_expense_kinds": ParameterSpec(
        _expense_kinds, "L: rigid expense kinds deducted from income (empty = no deduction)"
    ),
    # 低保边缘
    "marginal.income_multiple": ParameterSpec(_ratio, "N: per-capita income below this multiple of the standard"),
    # 特困
    "tekun.labour.elderly_age": ParameterSpec(_age, "N: 60+ counts as no labour capacity"),
    "tekun.labour.minor_age": ParameterSpec(_age, "N: under 16 counts as no labour capacity"),
    "tekun.labour.supported_minor_age": ParameterSpec(
        _age, "N: a minor already supported keeps 特困 until this age (and past it while in school)"
    ),
    "tekun.labour.disability_max_grade": ParameterSpec(
        _max_grade_by_category,
        "N: disability categories counted as no labour capacity, with the highest grade number (1 = most severe)",
    ),
    "tekun.basic_multiple_of_dibao": ParameterSpec(_ratio, "N: basic living standard floor, × 低保 standard"),
    "tekun.basic.rural": ParameterSpec(_periodic_or_none, "L: rural basic living standard (null = the floor)"),
    "tekun.basic.urban": ParameterSpec(_periodic_or_none, "L: urban basic living standard (null = the floor)"),
    "tekun.care.full_self_care": ParameterSpec(_periodic, "L: 全自理 care standard"),
    "tekun.care.partial_care": ParameterSpec(_periodic, "L: 半护理 care standard"),
    "tekun.care.full_care": ParameterSpec(_periodic, "L: 全护理 care standard"),
    # 刚性支出困难 and 支出型临时救助
    "local.disposable_income.rural": ParameterSpec(_periodic, "L: last year's rural per-capita disposable income"),
    "local.disposable_income.urban": ParameterSpec(_periodic, "L: last year's urban per-capita disposable income"),
    "rigid_expense.share_of_income": ParameterSpec(
        _ratio, "L: 12-month rigid spending above this share of 12-month household income"
    ),
    # 临时救助
    "temporary.emergency.cap_multiple": ParameterSpec(
        _ratio_or_none, "L: 急难型 cap as a multiple of the monthly 低保 standard (null = no fixed cap)"
    ),
    "temporary.expenditure.cap_multiple": ParameterSpec(
        _ratio_or_none, "L: 支出型 cap as a multiple of the monthly 低保 standard (null = no fixed cap)"
    ),
    "temporary.county_approval_above_fen": ParameterSpec(
        _money, "L: amounts above this go to the county joint meeting; at or below, the township decides"
    ),
    # 医疗救助
    **{
        f"medical.ratio.{g}": ParameterSpec(_ratio, f"share of remaining compliant cost paid for group {g}")
        for g in _MEDICAL_GROUPS
    },
    **{
        f"medical.deductible.{g}": ParameterSpec(_money, f"L: annual deductible (起付线) for group {g}")
        for g in _MEDICAL_GROUPS
    },
    **{
        f"medical.annual_cap.{g}": ParameterSpec(_money_or_none, f"L: annual cap (封顶线) for group {g}; null = none")
        for g in _MEDICAL_GROUPS
    },
    "medical.marginal.income_multiple": ParameterSpec(
        _ratio, "L: 边缘 medical help when per-capita income is below this multiple of the standard"
    ),
    # 孤儿 / 事实无人抚养儿童
    "orphan.max_age": ParameterSpec(_age, "N: children under this age"),
    "orphan.institution": ParameterSpec(_periodic, "L: 福利机构养育孤儿 minimum support"),
    "orphan.scattered": ParameterSpec(_periodic, "L: 社会散居孤儿 minimum support"),
    "de_facto_orphan.hardship": ParameterSpec(_periodic, "L: 事实无人抚养儿童 in hardship or 特困 families"),
    "de_facto_orphan.other": ParameterSpec(_periodic, "L: other 事实无人抚养儿童"),
    # 残疾人两项补贴
    "disability_living.by_grade": ParameterSpec(_by_grade, "L: 困难残疾人生活补贴 per month by grade"),
    "disability_living.child_age": ParameterSpec(_age, "L: under this age the child amount applies"),
    "disability_living.child_fen": ParameterSpec(_money, "L: 困难残疾人生活补贴 per month for a child"),
    "disability_care.by_grade": ParameterSpec(_by_grade, "L: 重度残疾人护理补贴 per month by grade"),
    # 办理程序: deadlines (working days unless named days) and who decides
    "procedure.investigation_start_wd": ParameterSpec(_count, "N: start the means investigation within (WD)"),
    "procedure.county_decision_wd": ParameterSpec(_count, "N: county decides within (WD) of receiving the file"),
    "procedure.overall_wd": ParameterSpec(_count, "N: whole case within (WD) of acceptance"),
    "procedure.overall_extended_wd": ParameterSpec(_count, "N: whole case, when extended (WD)"),
    "procedure.delegated_overall_wd": ParameterSpec(_count, "N: whole case when delegated to the township (WD)"),
    "procedure.tekun_township_wd": ParameterSpec(_count, "N: 特困 township opinion within (WD)"),
    "procedure.tekun_county_wd": ParameterSpec(_count, "N: 特困 county decision within (WD)"),
    "procedure.rejection_notice_wd": ParameterSpec(_count, "N: written rejection with reasons within (WD)"),
    "procedure.notice_days": ParameterSpec(_count, "N: public notice (公示) length in calendar days"),
    "procedure.democratic_appraisal_required": ParameterSpec(
        _bool, "L: whether 低保 cases go through democratic appraisal (民主评议)"
    ),
    "procedure.democratic_appraisal_programmes": ParameterSpec(
        _programmes, "N: programmes whose township opinion goes to democratic appraisal where the region requires it"
    ),
    "procedure.delegated_to_township": ParameterSpec(
        _bool, "L: whether the county delegated the decision (审核确认权) to townships"
    ),
    "review.regular_months": ParameterSpec(_count, "N: review interval for stable households (months)"),
    "review.irregular_months": ParameterSpec(
        _count, "N: review interval where income is irregular or a member can work (months)"
    ),
    "exit.gradual_max_months": ParameterSpec(_count, "N: 渐退 lasts at most this many months"),
    "exit.gradual_programmes": ParameterSpec(
        _programmes, "N: programmes where income from work above the standard starts 渐退 rather than 停保"
    ),
    "disability_care.requires_care_need": ParameterSpec(
        _bool, "L: whether a long-term care need (a self-care activity impossible) is also required"
    ),
    "calendar.holidays": ParameterSpec(
        _holiday_schedule,
        "N: the State Council's 放假调休安排 for a year the chinese-calendar library lacks "
        "({year, holidays: days off, workdays: weekend days worked}); deadlines count on it",
    ),
}


class ParameterSet(DatedParameters):
    """Eligibility's policy parameters for every region (an immutable :class:`DatedParameters`)."""

    schema = SCHEMA

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIRECTORY) -> ParameterSet:
        params = super().load(directory)
        _check_tekun_floor(params)
        return params


def _check_tekun_floor(params: ParameterSet) -> None:
    """Refuse a region's 特困 basic living standard below the national floor (a multiple of its 低保 standard),
    checked on every date either changes while the region's value is in force."""
    for region in sorted(params.regions() - {NATIONAL}):  # the national level sets no amount, only the floor
        chain = region_chain(region)
        for hukou in ("rural", "urban"):
            key, standard_key = f"tekun.basic.{hukou}", f"dibao.standard.{hukou}"
            for pv in params.history(key, region):
                if pv.value is None:
                    continue
                changes = {
                    v.start
                    for r in chain
                    for k in (standard_key, "tekun.basic_multiple_of_dibao")
                    for v in params.history(k, r)
                }
                for on in sorted({pv.start} | {d for d in changes if d > pv.start and pv.in_force(d)}):
                    if params.at(key, on, region) is not pv:
                        continue  # a later value of the region has taken over
                    try:
                        standard = params.at(standard_key, on, region).value
                        multiple = params.at("tekun.basic_multiple_of_dibao", on, region).value
                    except ParameterNotFound:
                        continue
                    floor = multiple * standard.annual_fen()
                    if pv.value.annual_fen() < floor:
                        raise PolicyLoadError(
                            f"{region}.yaml",
                            key,
                            f"{pv.value.annual_fen() / 100:.2f} yuan a year on {on} is below the national floor "
                            f"of {multiple} × the 低保 standard ({floor / 100:.2f} yuan a year)",
                        )


@lru_cache(maxsize=1)
def default_parameters() -> ParameterSet:
    """The parameter tree shipped with the code, loaded once (the set is immutable, so sharing it is safe)."""
    return ParameterSet.load(DEFAULT_DIRECTORY)
