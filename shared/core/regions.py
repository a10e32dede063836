"""Administrative division codes (统计用区划代码 / GB/T 2260) and region scoping.

Codes are plain digit strings whose length gives the level, never zero-padded to 12 digits:

====== ======================= ===================================
digits level                   example
====== ======================= ===================================
2      province 省级             ``61`` 陕西省
4      prefecture 地级           ``6106`` 延安市
6      county 县级               ``610626`` 吴起县
9      township 乡级 (乡镇/街道) ``610626101`` 铁边城镇
12     village 村级 (居委会/村委会) ``610626101203``
====== ======================= ===================================

The tables in ``shared/data/regions`` are the NBS 2023 codes down to townships (see the README there).
Village codes are not shipped: a 12-digit code is accepted when its first 9 digits are a known township.
A deployment may add names for villages with an optional ``villages.csv`` (``code,name,townshipCode``) in the
same directory.

Authorization scope is a code prefix: a user whose region is ``610626`` sees every code starting with it.
The empty string ``''`` is the national scope (sees everything); ``'00'`` or any other non-code is rejected,
so a mistyped scope fails closed instead of silently widening access.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DEFAULT_DIRECTORY",
    "LEVEL_LENGTHS",
    "NATIONAL_SCOPE",
    "InvalidRegionCode",
    "Region",
    "RegionTable",
    "UnknownRegionCode",
    "check_format",
    "is_within",
    "province_codes",
    "region_chain",
]

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "regions"
# Code length per level: province, prefecture, county, township, village.
LEVEL_LENGTHS = (2, 4, 6, 9, 12)
# A code of one of those lengths, for OpenAPI parameters: ASCII digits only ([0-9]: a regex digit class takes
# full-width and other scripts' digits as well).
CODE_PATTERN = r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
NATIONAL_SCOPE = ""

_ASCII_DIGITS = frozenset("0123456789")
# NBS rule for the village segment (last 3 digits): 001-199 居民委员会, 200-399 村民委员会.
_VILLAGE_NUMBERS = range(1, 400)


class InvalidRegionCode(ValueError):
    """A code that is malformed or does not fit the division tables; the message says why."""


class UnknownRegionCode(LookupError):
    """A well-formed code that is not in the tables."""


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    parent_code: str | None  # None for provinces

    @property
    def level(self) -> int:
        """0 = province … 4 = village (index into LEVEL_LENGTHS)."""
        return LEVEL_LENGTHS.index(len(self.code))


def check_format(code: str) -> None:
    """Refuse (InvalidRegionCode) anything but a well-formed code: 2, 4, 6, 9 or 12 ASCII digits, no leading 0."""
    if not isinstance(code, str) or not code or not set(code) <= _ASCII_DIGITS:
        raise InvalidRegionCode(f"region code {code!r} must be digits 0-9")
    if len(code) not in LEVEL_LENGTHS:
        raise InvalidRegionCode(f"region code {code!r} must have 2, 4, 6, 9 or 12 digits, not {len(code)}")
    if code[0] == "0":
        # Province codes run 11-82; this also rejects '00', which some systems use for "national".
        raise InvalidRegionCode(f"region code {code!r} cannot start with 0 (no province has such a code)")


def region_chain(code: str) -> list[str]:
    """The code and its ancestors, from province down.

    ``'610626101203'`` → ``['61', '6106', '610626', '610626101', '610626101203']``. Purely structural: it does
    not check that the code exists.
    """
    check_format(code)
    return [code[:length] for length in LEVEL_LENGTHS if length <= len(code)]


def is_within(code: str, scope_prefix: str) -> bool:
    """Whether ``code`` lies inside the authorization scope ``scope_prefix`` (the scope itself included).

    ``''`` is the national scope. Both arguments must be well-formed codes (``InvalidRegionCode`` otherwise):
    a plain ``startswith`` on a 5-digit or ``'00'`` scope would grant or deny access by accident.
    """
    check_format(code)
    if scope_prefix == NATIONAL_SCOPE:
        return True
    check_format(scope_prefix)
    return code.startswith(scope_prefix)


@lru_cache(maxsize=4)
def province_codes(directory: Path = DEFAULT_DIRECTORY) -> frozenset[str]:
    """The province-level codes (省级, 2 digits) of ``provinces.csv``, read alone: a resident ID's check needs no
    more of the tables."""
    return frozenset(row["code"] for _, row in _read_rows(directory / "provinces.csv", ("code",)))


def _read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for row in reader:
            # line_num is the physical line just read, which stays right even for quoted multi-line names.
            yield reader.line_num, {column: (row[column] or "").strip() for column in columns}


@dataclass(frozen=True, eq=False)
class RegionTable:
    """All known divisions by code. Build with :meth:`load`; treat as read-only (it is shared via a cache)."""

    regions: dict[str, Region]
    _children: dict[str, list[str]] = field(repr=False)

    @classmethod
    def load(cls, directory: Path | str | None = None) -> RegionTable:
        """Load provinces, cities, areas, streets and the optional villages.csv (cached per directory)."""
        return _load_cached(Path(directory or DEFAULT_DIRECTORY).resolve())

    @classmethod
    def from_directory(cls, directory: Path) -> RegionTable:
        """Uncached load; raises ValueError naming the file and line for inconsistent data."""
        regions: dict[str, Region] = {}
        # (file, level length, parent column) — parents are always in an earlier file, so order matters.
        files = (
            ("provinces.csv", 2, None),
            ("cities.csv", 4, "provinceCode"),
            ("areas.csv", 6, "cityCode"),
            ("streets.csv", 9, "areaCode"),
            ("villages.csv", 12, "townshipCode"),
        )
        for file_name, length, parent_column in files:
            path = directory / file_name
            if file_name == "villages.csv" and not path.exists():
                continue  # optional: deployments add it when they have village names
            columns = ("code", "name") + ((parent_column,) if parent_column else ())
            for line_number, row in _read_rows(path, columns):
                code = row["code"]
                where = f"{file_name} line {line_number}"
                if len(code) != length or not set(code) <= _ASCII_DIGITS:
                    raise ValueError(f"{where}: code {code!r} must be {length} digits")
                if code in regions:
                    raise ValueError(f"{where}: duplicate code {code}")
                if not row["name"]:
                    raise ValueError(f"{where}: code {code} has no name")
                parent = row[parent_column] if parent_column else None
                if parent is not None:
                    # The parent must be the code's own prefix and already loaded, or prefix scoping breaks.
                    if not code.startswith(parent) or parent not in regions:
                        raise ValueError(f"{where}: parent {parent!r} of {code} is unknown or not its prefix")
                    if len(parent) != LEVEL_LENGTHS[LEVEL_LENGTHS.index(length) - 1]:
                        raise ValueError(f"{where}: parent {parent!r} of {code} is not one level up")
                if length == 12:
                    _check_village_number(code)
                regions[code] = Region(code=code, name=row["name"], parent_code=parent)
        return cls.of(regions)

    @classmethod
    def of(cls, regions: dict[str, Region]) -> RegionTable:
        """The table of already checked `regions`, with each one's children listed in code order."""
        children: dict[str, list[str]] = {}
        for region in regions.values():
            if region.parent_code is not None:
                children.setdefault(region.parent_code, []).append(region.code)
        for codes in children.values():
            codes.sort()
        return cls(regions=regions, _children=children)

    def is_known(self, code: str) -> bool:
        """Whether the code is in the tables (2/4/6/9 digits; 12 digits only if listed in villages.csv).
        Use :meth:`validate_village_code` to accept unlisted villages."""
        return code in self.regions

    def get(self, code: str) -> Region:
        region = self.regions.get(code)
        if region is None:
            check_format(code)
            raise UnknownRegionCode(f"region code {code} is not in the division tables")
        return region

    def name(self, code: str) -> str:
        """The division's name, e.g. ``'610626'`` → ``'吴起县'``.

        Raises UnknownRegionCode, or InvalidRegionCode for a malformed code.
        """
        return self.get(code).name

    def children(self, code: str) -> list[Region]:
        """Direct subdivisions of a known code, sorted by code."""
        self.get(code)
        return [self.regions[child] for child in self._children.get(code, [])]

    def townships(self, county_code: str) -> list[Region]:
        """The townships (乡镇/街道, 9 digits) of a known county (6 digits), sorted by code."""
        check_format(county_code)
        if len(county_code) != 6:
            raise InvalidRegionCode(f"county code {county_code} must have 6 digits")
        return self.children(county_code)

    def villages(self, township_code: str) -> list[Region]:
        """Villages listed in villages.csv for a known township (empty when none are listed)."""
        check_format(township_code)
        if len(township_code) != 9:
            raise InvalidRegionCode(f"township code {township_code} must have 9 digits")
        return self.children(township_code)

    def validate_village_code(self, code: str) -> str:
        """Accept a 12-digit village code (村级: 居委会 001-199, 村委会 200-399) under a known township.

        Returns the code; raises InvalidRegionCode naming the problem. The village need not be listed in
        villages.csv.
        """
        if not isinstance(code, str) or not code or not set(code) <= _ASCII_DIGITS:
            raise InvalidRegionCode(f"village code {code!r} must be digits 0-9")
        if len(code) != 12:
            raise InvalidRegionCode(f"village code {code} must have 12 digits, not {len(code)}")
        if code in self.regions:
            return code
        township = code[:9]
        if township not in self.regions:
            raise InvalidRegionCode(f"village code {code}: township {township} is not a known township")
        _check_village_number(code)
        return code


def _check_village_number(code: str) -> None:
    if int(code[9:]) not in _VILLAGE_NUMBERS:
        raise InvalidRegionCode(
            f"village code {code}: last 3 digits {code[9:]} must be 001-199 (居委会) or 200-399 (村委会)"
        )


@lru_cache(maxsize=8)
def _load_cached(directory: Path) -> RegionTable:
    return RegionTable.from_directory(directory)


def display_name(code: str) -> str:
    """吴起县 for 610626; a village not in the tables by its township's name and its number (铁边城镇201村)."""
    regions = RegionTable.load().regions
    if code in regions:
        return regions[code].name
    if len(code) == 12 and code[:9] in regions:
        return f"{regions[code[:9]].name}{code[9:]}村"
    return code or "全国"


def civil_affairs_bureau(code: str) -> str:
    """The county civil-affairs bureau (县民政局) that issues the documents of a region under it: 吴起县民政局."""
    return f"{display_name(code[:6])}民政局"
