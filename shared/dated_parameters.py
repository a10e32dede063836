"""Dated, per-region parameters (政策参数) in a YAML tree: the loader every service's policy values go through.

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

A service declares its keys in a schema (key → :class:`ParameterSpec`) and subclasses :class:`DatedParameters`
with it; values are parsed to typed Python objects at load time, so a typo in a file fails at start-up and never
in the middle of a decision.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import yaml

NATIONAL = "national"
_REGION_FILE = re.compile(r"^([0-9]{2}|[0-9]{4}|[0-9]{6})$")
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


def fen(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an integer amount in fen, got {raw!r}")
    if raw < 0:
        raise ValueError(f"amount must be >= 0, got {raw}")
    return raw


def money(raw: Any) -> int:
    return fen(raw)


def money_or_none(raw: Any) -> int | None:
    return None if raw is None else fen(raw)


def ratio(raw: Any) -> Decimal:
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


def ratio_or_none(raw: Any) -> Decimal | None:
    return None if raw is None else ratio(raw)


def age(raw: Any) -> int:
    value = fen(raw)
    if value > 150:
        raise ValueError(f"age out of range: {raw}")
    return value


def count(raw: Any) -> int:
    return fen(raw)


def boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw


def periodic(raw: Any) -> PeriodicMoney:
    if not isinstance(raw, Mapping) or set(raw) != {"per", "fen"}:
        raise ValueError(f"expected {{per: month|year, fen: N}}, got {raw!r}")
    if raw["per"] not in ("month", "year"):
        raise ValueError(f"per must be month or year, got {raw['per']!r}")
    return PeriodicMoney(per=raw["per"], fen=fen(raw["fen"]))


def periodic_or_none(raw: Any) -> PeriodicMoney | None:
    return None if raw is None else periodic(raw)


def enum(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return str(raw)

    return parse


@dataclass(frozen=True)
class ParameterSpec:
    """What a key means and how its value is parsed."""

    parse: Callable[[Any], Any]
    description: str


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


@functools.lru_cache(maxsize=100_000)
def region_chain(region: str) -> tuple[str, ...]:
    """Regions to search, most specific first: county, city, province, national."""
    if not re.fullmatch(r"[0-9]{2,12}", region):
        raise ParameterError(f"region must be a GB/T 2260 code of 2-12 digits, got {region!r}")
    return (*(region[:n] for n in (6, 4, 2) if len(region) >= n), NATIONAL)


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
            raise ValueError(f"value {earlier.start}..{earlier.end} overlaps the value starting {later.start}")
    return ordered


class DatedParameters:
    """An immutable collection of dated parameter values for every region, for the keys of `schema`.

    Subclass per service with its own ``schema``; the shipped tree is loaded with :meth:`load`."""

    schema: ClassVar[Mapping[str, ParameterSpec]] = {}

    def __init__(self, histories: Mapping[tuple[str, str], Iterable[ParameterValue]] | None = None) -> None:
        self._histories: dict[tuple[str, str], tuple[ParameterValue, ...]] = {
            region_key: tuple(_check_history(list(values))) for region_key, values in (histories or {}).items()
        }
        self._lookups: dict[tuple[str, date, str], ParameterValue] = {}
        # A code's search chain (`region_chain`) depends only on its first six digits, so lookups for a county's
        # thousands of villages share one memo entry per key and date.
        self._scopes: dict[str, str] = {}

    # -- loading

    @classmethod
    def load(cls, directory: Path | str) -> Self:
        """Load and validate every ``*.yaml`` file in ``directory``; raise :class:`PolicyLoadError` on any
        problem."""
        directory = Path(directory)
        if not directory.is_dir():
            raise PolicyLoadError(str(directory), None, "not a directory")
        histories: dict[tuple[str, str], list[ParameterValue]] = {}
        for path in sorted(directory.glob("*.yaml")):
            region = path.stem
            if region != NATIONAL and not _REGION_FILE.match(region):
                raise PolicyLoadError(path.name, None, "file name must be national or a 2/4/6-digit region code")
            for key, values in _load_file(path, region, cls.schema).items():
                histories[(region, key)] = values
        return cls(histories)

    @classmethod
    def parse_value(cls, key: str, raw: Any) -> Any:
        """The typed value for ``key`` (KeyError for an unknown key, ValueError for a bad value)."""
        spec = cls.schema.get(key)
        if spec is None:
            raise KeyError(key)
        return spec.parse(raw)

    def with_value(self, region: str, key: str, start: date, value: Any, reference: str) -> Self:
        """A new set with one more dated value, validated like a file entry (for values admins add at run
        time)."""
        if region != NATIONAL and not _REGION_FILE.match(region):
            raise ParameterError(f"{region}: region must be national or a 2/4/6-digit code")
        if not reference.strip():
            raise ParameterError(f"{region}: {key}: a reference (legal basis) is required")
        try:
            parsed = self.parse_value(key, value)
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
        return type(self)(histories)

    # -- lookup

    def at(self, key: str, on: date, region: str) -> ParameterValue:
        """The value of ``key`` in force on ``on`` for ``region`` (any code of 2-12 digits), inherited by
        prefix."""
        # The set is immutable, so a lookup's answer never changes: a consumer assessing thousands of households
        # of one county asks the same few questions again and again.
        if (scope := self._scopes.get(region)) is None:
            region_chain(region)  # a bad code is refused before it is remembered
            scope = self._scopes[region] = region[:6]
        if (found := self._lookups.get((key, on, scope))) is not None:
            return found
        if key not in self.schema:
            raise ParameterNotFound(f"unknown parameter key {key!r}")
        for candidate in region_chain(region):
            history = self._histories.get((candidate, key), ())
            in_force = [v for v in history if v.start <= on]
            if in_force and in_force[-1].in_force(on):
                if len(self._lookups) < 200_000:
                    self._lookups[(key, on, scope)] = in_force[-1]
                return in_force[-1]
        raise ParameterNotFound(f"no value for {key} on {on} in region {region} or its parents")

    def history(self, key: str, region: str) -> tuple[ParameterValue, ...]:
        """The values defined by exactly this region (not inherited), oldest first."""
        return self._histories.get((region, key), ())

    def regions(self) -> set[str]:
        return {region for region, _ in self._histories}

    def keys(self, region: str) -> set[str]:
        return {key for r, key in self._histories if r == region}


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


def _load_file(path: Path, region: str, schema: Mapping[str, ParameterSpec]) -> dict[str, list[ParameterValue]]:
    source = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyLoadError(source, None, f"invalid YAML: {exc}") from None
    if document is None:
        return {}
    result: dict[str, list[ParameterValue]] = {}
    for key, entries in _flatten(document, "", source).items():
        if key not in schema:
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
                parsed = schema[key].parse(entry["value"])
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
