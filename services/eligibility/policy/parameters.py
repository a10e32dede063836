"""Dated, per-region policy parameters (政策参数) loaded from a YAML tree.

Layout of a parameter directory::

    national.yaml     全国 (N) rules
    61.yaml           province 省 (2-digit GB/T 2260 code)
    6106.yaml         city 市 (4-digit)
    610626.yaml       county 县 (6-digit)

Each file is a nested mapping whose leaves are lists of dated values::

    dibao:
      standard:
        rural:
          - start: 2023-01-01
            value: {per: year, fen: 600000}
            reference: "seed 000 吴起县 2023: 农村低保保障标准为6000元/人年"
            end: 2023-12-31      # optional, last day in force

A value is looked up for a key, a date and a region code (any length ≥ 2): the county, then city, then
province, then national files are tried in that order, and the first one with a value in force on the date
wins (the latest ``start`` on or before the date, unless its ``end`` has passed). So a county that starts
defining a key later keeps inheriting its province's value before that date.

Every key must be declared in :data:`SCHEMA`; values are parsed to typed Python objects at load time, so a
typo in a file fails at start-up and never in the middle of an assessment.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from shared.events.catalogue import PROGRAMMES, MedicalGroup
from shared.workdays import HolidaySchedule

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
NATIONAL = "national"
_REGION_FILE = re.compile(r"^(\d{2}|\d{4}|\d{6})$")
_ENTRY_FIELDS = {"start", "value", "reference", "end"}


class ParameterError(ValueError):
    """A parameter value or lookup is invalid."""


class PolicyLoadError(ParameterError):
    """A parameter file is invalid; the message names the file and the key."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class ParameterNotFound(ParameterError):
    """No region in the chain has a value in force for the key on the date."""


# ----------------------------------------------------------------------------------------------------
# Value types


def annual_to_monthly_fen(annual_fen: int) -> int:
    """Convert a per-year amount to per-month fen, rounding half up to the fen (四舍五入到分).

    Standards are published per year (元/人·年) but paid monthly; every conversion goes through here so one
    rounding rule applies everywhere.
    """
    return int((Decimal(annual_fen) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PeriodicMoney:
    """An amount per person per month or per year, as the local document publishes it."""

    per: Literal["month", "year"]
    fen: int

    def monthly_fen(self) -> int:
        return self.fen if self.per == "month" else annual_to_monthly_fen(self.fen)

    def annual_fen(self) -> int:
        return self.fen if self.per == "year" else self.fen * 12

    def to_json(self) -> dict[str, Any]:
        return {"per": self.per, "fen": self.fen}


@dataclass(frozen=True)
class IncomeTier:
    """One tier of 分档施保: households with per-capita monthly income below ``income_below_fen`` (``None``
    = below the 低保 standard) get ``amount_fen`` per counted member per month."""

    income_below_fen: int | None
    amount_fen: int

    def to_json(self) -> dict[str, Any]:
        return {"income_below_fen": self.income_below_fen, "amount_fen": self.amount_fen}


def _fen(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an integer amount in fen, got {raw!r}")
    if raw < 0:
        raise ValueError(f"amount must be >= 0, got {raw}")
    return raw


def _money(raw: Any) -> int:
    return _fen(raw)


def _money_or_none(raw: Any) -> int | None:
    return None if raw is None else _fen(raw)


def _ratio(raw: Any) -> Decimal:
    # Ratios go through str() so YAML's 1.5 becomes Decimal('1.5') exactly, not a binary float.
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"expected a number, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ValueError(f"expected a number, got {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"ratio must be a finite number >= 0, got {raw!r}")
    return value


def _ratio_or_none(raw: Any) -> Decimal | None:
    return None if raw is None else _ratio(raw)


def _age(raw: Any) -> int:
    value = _fen(raw)
    if value > 150:
        raise ValueError(f"age out of range: {raw}")
    return value


def _count(raw: Any) -> int:
    return _fen(raw)


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw


def _periodic(raw: Any) -> PeriodicMoney:
    if not isinstance(raw, Mapping) or set(raw) != {"per", "fen"}:
        raise ValueError(f"expected {{per: month|year, fen: N}}, got {raw!r}")
    if raw["per"] not in ("month", "year"):
        raise ValueError(f"per must be month or year, got {raw['per']!r}")
    return PeriodicMoney(per=raw["per"], fen=_fen(raw["fen"]))


def _periodic_or_none(raw: Any) -> PeriodicMoney | None:
    return None if raw is None else _periodic(raw)


def _enum(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return str(raw)

    return parse


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


@dataclass(frozen=True)
class ParameterSpec:
    """What a key means and how its value is parsed."""

    parse: Callable[[Any], Any]
    description: str


_MEDICAL_GROUPS: tuple[str, ...] = MedicalGroup.__args__  # type: ignore[attr-defined]

#: Every known parameter key. N = national rule, L = local (province/city/county) rule.
SCHEMA: dict[str, ParameterSpec] = {
    # 低保
    "dibao.mode.rural": ParameterSpec(_enum("gap", "tier"), "L: 补差 (gap) or 分档 (tier) for rural 低保"),
    "dibao.mode.urban": ParameterSpec(_enum("gap", "tier"), "L: 补差 (gap) or 分档 (tier) for urban 低保"),
    "dibao.standard.rural": ParameterSpec(_periodic, "L: rural 低保 standard per person"),
    "dibao.standard.urban": ParameterSpec(_periodic, "L: urban 低保 standard per person"),
    "dibao.tiers.rural": ParameterSpec(
        _tiers, "L: rural 分档 tiers and their placement by per-capita income"
    ),
    "dibao.tiers.urban": ParameterSpec(
        _tiers, "L: urban 分档 tiers and their placement by per-capita income"
    ),
    "dibao.classified.elderly_age": ParameterSpec(_age, "L: 分类施保 elderly from this age"),
    "dibao.classified.elderly_fen": ParameterSpec(
        _money, "L: 分类施保 monthly addition for an elderly member"
    ),
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
    "marginal.income_multiple": ParameterSpec(
        _ratio, "N: per-capita income below this multiple of the standard"
    ),
    # 特困
    "tekun.labour.elderly_age": ParameterSpec(_age, "N: 60+ counts as no labour capacity"),
    "tekun.labour.minor_age": ParameterSpec(_age, "N: under 16 counts as no labour capacity"),
    "tekun.labour.disability_max_grade": ParameterSpec(
        _max_grade_by_category,
        "N: disability categories counted as no labour capacity, with the highest grade number (1 = most severe)",
    ),
    "tekun.basic_multiple_of_dibao": ParameterSpec(_ratio, "N: basic living standard floor, × 低保 standard"),
    "tekun.basic.rural": ParameterSpec(
        _periodic_or_none, "L: rural basic living standard (null = the floor)"
    ),
    "tekun.basic.urban": ParameterSpec(
        _periodic_or_none, "L: urban basic living standard (null = the floor)"
    ),
    "tekun.care.full_self_care": ParameterSpec(_periodic, "L: 全自理 care standard"),
    "tekun.care.partial_care": ParameterSpec(_periodic, "L: 半护理 care standard"),
    "tekun.care.full_care": ParameterSpec(_periodic, "L: 全护理 care standard"),
    # 刚性支出困难 and 支出型临时救助
    "local.disposable_income.rural": ParameterSpec(
        _periodic, "L: last year's rural per-capita disposable income"
    ),
    "local.disposable_income.urban": ParameterSpec(
        _periodic, "L: last year's urban per-capita disposable income"
    ),
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
        f"medical.annual_cap.{g}": ParameterSpec(
            _money_or_none, f"L: annual cap (封顶线) for group {g}; null = none"
        )
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


# ----------------------------------------------------------------------------------------------------
# Values and the set


@dataclass(frozen=True)
class ParameterValue:
    """A typed value in force, with where it came from (for the decision's 计算依据)."""

    value: Any
    start: date
    reference: str
    source_region: str
    end: date | None = None

    def in_force(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)


def region_chain(region: str) -> list[str]:
    """Regions to search, most specific first: county, city, province, national."""
    if not re.fullmatch(r"\d{2,12}", region):
        raise ParameterError(f"region must be a GB/T 2260 code of 2-12 digits, got {region!r}")
    return [region[:n] for n in (6, 4, 2) if len(region) >= n] + [NATIONAL]


def _parse_date(raw: Any, what: str) -> date:
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{what} must be a date (YYYY-MM-DD), got {raw!r}")


def _check_history(values: list[ParameterValue]) -> list[ParameterValue]:
    """Sort by start and reject duplicates and overlaps (raises ValueError)."""
    ordered = sorted(values, key=lambda v: v.start)
    for v in ordered:
        if v.end is not None and v.end < v.start:
            raise ValueError(f"value starting {v.start} ends {v.end}, before it starts")
    for earlier, later in itertools.pairwise(ordered):
        if earlier.start == later.start:
            raise ValueError(f"two values start on {later.start}")
        if earlier.end is not None and earlier.end >= later.start:
            raise ValueError(
                f"value {earlier.start}..{earlier.end} overlaps the value starting {later.start}"
            )
    return ordered


def _parse_value(key: str, raw: Any) -> Any:
    spec = SCHEMA.get(key)
    if spec is None:
        raise KeyError(key)
    return spec.parse(raw)


class ParameterSet:
    """An immutable collection of dated parameter values for every region."""

    def __init__(self, histories: Mapping[tuple[str, str], Iterable[ParameterValue]] | None = None) -> None:
        self._histories: dict[tuple[str, str], tuple[ParameterValue, ...]] = {
            region_key: tuple(_check_history(list(values)))
            for region_key, values in (histories or {}).items()
        }

    # -- loading

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIRECTORY) -> ParameterSet:
        """Load and validate every ``*.yaml`` file in ``directory``; raise :class:`PolicyLoadError` on any
        problem."""
        directory = Path(directory)
        if not directory.is_dir():
            raise PolicyLoadError(str(directory), None, "not a directory")
        histories: dict[tuple[str, str], list[ParameterValue]] = {}
        for path in sorted(directory.glob("*.yaml")):
            region = path.stem
            if region != NATIONAL and not _REGION_FILE.match(region):
                raise PolicyLoadError(
                    path.name, None, "file name must be national or a 2/4/6-digit region code"
                )
            for key, values in _load_file(path, region).items():
                histories[(region, key)] = values
        params = cls(histories)
        _check_tekun_floor(params)
        return params

    def with_value(self, region: str, key: str, start: date, value: Any, reference: str) -> ParameterSet:
        """A new set with one more dated value, validated like a file entry (for values admins add at run
        time)."""
        if region != NATIONAL and not _REGION_FILE.match(region):
            raise ParameterError(f"{region}: region must be national or a 2/4/6-digit code")
        if not reference.strip():
            raise ParameterError(f"{region}: {key}: a reference (legal basis) is required")
        try:
            parsed = _parse_value(key, value)
        except KeyError:
            raise ParameterError(f"{region}: {key}: unknown parameter key") from None
        except ValueError as exc:
            raise ParameterError(f"{region}: {key}: {exc}") from None
        new = ParameterValue(parsed, start, reference, region)
        histories = dict(self._histories)
        try:
            histories[(region, key)] = tuple(_check_history([*histories.get((region, key), ()), new]))
        except ValueError as exc:
            raise ParameterError(f"{region}: {key}: {exc}") from None
        return ParameterSet(histories)

    # -- lookup

    def at(self, key: str, on: date, region: str) -> ParameterValue:
        """The value of ``key`` in force on ``on`` for ``region`` (any code of 2-12 digits), inherited by
        prefix."""
        if key not in SCHEMA:
            raise ParameterNotFound(f"unknown parameter key {key!r}")
        for candidate in region_chain(region):
            history = self._histories.get((candidate, key), ())
            in_force = [v for v in history if v.start <= on]
            if in_force and in_force[-1].in_force(on):
                return in_force[-1]
        raise ParameterNotFound(f"no value for {key} on {on} in region {region} or its parents")

    def history(self, key: str, region: str) -> tuple[ParameterValue, ...]:
        """The values defined by exactly this region (not inherited), oldest first."""
        return self._histories.get((region, key), ())

    def regions(self) -> set[str]:
        return {region for region, _ in self._histories}

    def keys(self, region: str) -> set[str]:
        return {key for r, key in self._histories if r == region}


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


def _flatten(node: Any, prefix: str, source: str) -> dict[str, list[Any]]:
    """Walk nested mappings down to the lists of dated entries."""
    if isinstance(node, list):
        return {prefix: node}
    if not isinstance(node, Mapping):
        raise PolicyLoadError(source, prefix or None, "expected a mapping of keys or a list of dated values")
    leaves: dict[str, list[Any]] = {}
    for name, child in node.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        leaves.update(_flatten(child, key, source))
    return leaves


def _load_file(path: Path, region: str) -> dict[str, list[ParameterValue]]:
    source = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyLoadError(source, None, f"invalid YAML: {exc}") from None
    if document is None:
        return {}
    result: dict[str, list[ParameterValue]] = {}
    for key, entries in _flatten(document, "", source).items():
        if key not in SCHEMA:
            raise PolicyLoadError(source, key, "unknown parameter key")
        values: list[ParameterValue] = []
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(entry, Mapping) or not {"start", "value", "reference"} <= set(entry):
                raise PolicyLoadError(source, where, "each value needs start, value and reference")
            extra = set(entry) - _ENTRY_FIELDS
            if extra:
                raise PolicyLoadError(source, where, f"unexpected fields {sorted(extra)}")
            if not isinstance(entry["reference"], str) or not entry["reference"].strip():
                raise PolicyLoadError(source, where, "reference must be a non-empty string")
            try:
                start = _parse_date(entry["start"], "start")
                end = None if entry.get("end") is None else _parse_date(entry["end"], "end")
                parsed = _parse_value(key, entry["value"])
            except ValueError as exc:
                raise PolicyLoadError(source, where, str(exc)) from None
            values.append(ParameterValue(parsed, start, entry["reference"].strip(), region, end))
        if not values:
            raise PolicyLoadError(source, key, "no values")
        try:
            result[key] = _check_history(values)
        except ValueError as exc:
            raise PolicyLoadError(source, key, str(exc)) from None
    return result
