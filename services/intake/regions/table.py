"""The static region table intake validates household codes against, and a way to add village names to it.

The shipped NBS tables (shared/data/regions) cover every county and township, so the demo county
吴起县 (610626) and its nine townships are there. Village (12-digit) codes are accepted when their township
is known, and, once the county has loaded its villages through the API (services/intake/regions/service.py),
only the listed ones. Deployments may also point INTAKE_REGIONS_DIR at a directory with its own villages.csv,
or add INTAKE_VILLAGES_FILE (code,name,townshipCode) on top of whichever table is used.
Check a file before deploying:

    python -m services.intake.regions.table check villages.csv
"""

from __future__ import annotations

import csv
import sys
from functools import lru_cache
from pathlib import Path

from services.intake.config import Settings
from shared.core.regions import InvalidRegionCode, Region, RegionTable


def with_villages(table: RegionTable, villages_file: Path) -> RegionTable:
    """A new table: `table` plus the villages listed in a CSV file; raises ValueError naming the bad line."""
    regions = dict(table.regions)
    with villages_file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "name", "townshipCode"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{villages_file.name}: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            where = f"{villages_file.name} line {reader.line_num}"
            code, name, township = (row[c].strip() for c in ("code", "name", "townshipCode"))
            try:
                table.validate_village_code(code)
            except InvalidRegionCode as exc:
                raise ValueError(f"{where}: {exc}") from None
            if township != code[:9]:
                raise ValueError(f"{where}: township {township!r} is not the prefix of {code}")
            if not name:
                raise ValueError(f"{where}: village {code} has no name")
            if code in regions and regions[code].name != name:
                raise ValueError(f"{where}: village {code} is already named {regions[code].name}")
            regions[code] = Region(code=code, name=name, parent_code=township)
    return RegionTable.of(regions)


@lru_cache(maxsize=4)
def _load(regions_dir: Path | None, villages_file: Path | None) -> RegionTable:
    table = RegionTable.load(regions_dir)
    return with_villages(table, villages_file) if villages_file else table


def region_table(settings: Settings) -> RegionTable:
    """Loaded once per configuration (the national tables take a moment to read)."""
    return _load(settings.regions_dir, settings.villages_file)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2 or args[0] != "check":
        print("usage: python -m services.intake.regions.table check <villages.csv>", file=sys.stderr)
        return 2
    try:
        table = with_villages(RegionTable.load(), Path(args[1]))
    except (OSError, ValueError) as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {sum(1 for code in table.regions if len(code) == 12)} villages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
