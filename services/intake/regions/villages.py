"""A county's villages from the statistics bureau's 统计用区划代码 table, as CSV: code, name, urban-rural class.

The bureau publishes, per county, each 村级 unit with its 12-digit 统计用区划代码, its 城乡分类代码 and its name.
Either English or the bureau's Chinese column names are accepted, in any order; UTF-8 (with or without BOM) or
GB 18030, as the bureau's own downloads are. Every problem is reported with its line, not just the first."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from shared.core.regions import InvalidRegionCode, RegionTable
from shared.validation import CONTROL_CHARACTERS

# 城乡分类代码 (国家统计局《统计上划分城乡的规定》): the first digit is urban (1) or rural (2).
URBAN_RURAL_CLASSES = {
    "111": "主城区",
    "112": "城乡结合区",
    "121": "镇中心区",
    "122": "镇乡结合区",
    "123": "特殊区域",
    "210": "乡中心区",
    "220": "村庄",
}
COLUMNS = {
    "code": ("code", "统计用区划代码", "区划代码"),
    "name": ("name", "名称"),
    "urban_rural_class": ("urban_rural_class", "城乡分类代码", "城乡分类"),
}
MAX_ERRORS = 20


@dataclass(frozen=True)
class VillageRow:
    code: str
    name: str
    urban_rural_class: str

    @property
    def township_code(self) -> str:
        return self.code[:9]


class VillageFileError(ValueError):
    """The file cannot be loaded; `problems` are (where, message) pairs, e.g. ("line 4", "code … must …")."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {message}" for where, message in problems[:5]))
        self.problems = problems


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise VillageFileError([("file", "is neither UTF-8 nor GB 18030 text")])


def parse_villages(data: bytes, county_code: str, table: RegionTable) -> list[VillageRow]:
    """The villages of `county_code` in the file; raises VillageFileError listing every bad line."""
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    header = [h.strip() for h in next(reader, [])]
    index: dict[str, int] = {}
    for column, names in COLUMNS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if not found:
            raise VillageFileError([("line 1", f"no column {' / '.join(names)} in the header {header!r}")])
        index[column] = found[0]
    townships = {t.code for t in table.townships(county_code)}
    rows: dict[str, VillageRow] = {}
    problems: list[tuple[str, str]] = []
    for values in reader:
        if len(problems) >= MAX_ERRORS:
            break
        where = f"line {reader.line_num}"
        if not any(v.strip() for v in values):
            continue
        if len(values) < len(header):
            problems.append((where, f"{len(values)} columns, the header has {len(header)}"))
            continue
        code, name, kind = (values[index[c]].strip() for c in ("code", "name", "urban_rural_class"))
        try:
            table.validate_village_code(code)
        except InvalidRegionCode as exc:
            problems.append((where, str(exc)))
            continue
        if code[:9] not in townships:
            problems.append((where, f"village code {code} is not in a township of county {county_code}"))
        elif not name or len(name) > 100 or CONTROL_CHARACTERS.search(name):
            problems.append((where, f"village {code}: the name must be 1-100 characters of text"))
        elif kind not in URBAN_RURAL_CLASSES:
            problems.append(
                (
                    where,
                    f"village {code}: urban-rural class {kind!r} is not one of "
                    f"{', '.join(URBAN_RURAL_CLASSES)} (城乡分类代码)",
                )
            )
        elif code in rows:
            problems.append((where, f"village code {code} is listed twice"))
        else:
            rows[code] = VillageRow(code, name, kind)
    if problems:
        raise VillageFileError(problems)
    if not rows:
        raise VillageFileError([("file", "lists no villages")])
    return sorted(rows.values(), key=lambda r: r.code)
