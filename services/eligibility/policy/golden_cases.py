"""Golden cases (基准案例): YAML households with the outcome policy text says they must get.

Each case cites the article or seed figure it checks. Members are named by short labels (``a``, ``b`` …) that
become stable UUIDs, so cases stay readable::

    - id: wuqi-rural-tier-500
      programme: dibao
      on: 2023-06-01
      cites: "seed 000: 农村低保五档 500元"
      household:
        region_code: "610626101203"
        hukou_type: rural
        members:
          - {id: a, birth_date: 1960-05-01}
        incomes:
          - {member: a, kind: wages, subkind: salary, monthly_amount_fen: 5000}
      application: {member: a, orphans: [a], temporary: {...}, medical: {...}, programmes: [dibao]}
      expect: {eligible: true, monthly_amount_fen: 50000}

The service can run the same cases after an admin adds a parameter value, to see which outcomes move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import yaml

from shared.core.household import HouseholdSnapshot

from .assessment import ApplicationFacts, Assessment
from .parameters import ParameterSet
from .rules import assess

__all__ = ["GOLDEN_DIRECTORY", "GoldenCase", "check_case", "load_golden_cases"]

GOLDEN_DIRECTORY = Path(__file__).parent / "golden"
_EXPECT_FIELDS = {
    "eligible",
    "monthly_amount_fen",
    "one_off_amount_fen",
    "required_approver",
    "mode",
    "covered",
}


@dataclass(frozen=True)
class GoldenCase:
    id: str
    source: str
    programme: str
    on: date
    region: str | None
    cites: str
    snapshot: HouseholdSnapshot
    application: ApplicationFacts | None
    expect: dict[str, Any]
    labels: dict[str, UUID]


def _member_uuid(case_id: str, label: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"golden:{case_id}:{label}")


def _build_case(raw: dict[Any, Any], source: str) -> GoldenCase:
    if True in raw:  # YAML 1.1 reads the bare key `on` as the boolean true
        raw = {("on" if k is True else k): v for k, v in raw.items()}
    case_id = str(raw["id"])
    for required in ("programme", "on", "cites", "household", "expect"):
        if required not in raw:
            raise ValueError(f"{source}: {case_id}: missing {required}")
    if not str(raw["cites"]).strip():
        raise ValueError(f"{source}: {case_id}: cites must not be empty")
    unknown_expect = set(raw["expect"]) - _EXPECT_FIELDS
    if unknown_expect:
        raise ValueError(f"{source}: {case_id}: unknown expect fields {sorted(unknown_expect)}")

    household = dict(raw["household"])
    labels: dict[str, UUID] = {}
    members = []
    for i, m in enumerate(household.pop("members")):
        m = dict(m)
        label = str(m.pop("id"))
        labels[label] = _member_uuid(case_id, label)
        m.setdefault("name", label)
        m.setdefault("sex", "male")
        m.setdefault("relation", "head" if i == 0 else "other")
        members.append({"member_id": labels[label], **m})
    incomes = []
    for item in household.pop("incomes", []):
        item = dict(item)
        label = item.pop("member", None)
        incomes.append({"member_id": None if label is None else labels[str(label)], **item})
    snapshot = HouseholdSnapshot.model_validate(
        {
            "household_id": uuid5(NAMESPACE_URL, f"golden:{case_id}"),
            "members": members,
            "incomes": incomes,
            **household,
        }
    )

    application = None
    if "application" in raw:
        app = dict(raw["application"])
        member = app.pop("member", None)
        application = ApplicationFacts.model_validate(
            {
                "member_id": None if member is None else labels[str(member)],
                "household_programmes": app.pop("programmes", []),
                "orphan_member_ids": [labels[str(x)] for x in app.pop("orphans", [])],
                "de_facto_orphan_member_ids": [labels[str(x)] for x in app.pop("de_facto_orphans", [])],
                **app,
            }
        )
    on = raw["on"] if isinstance(raw["on"], date) else date.fromisoformat(str(raw["on"]))
    return GoldenCase(
        id=case_id,
        source=source,
        programme=str(raw["programme"]),
        on=on,
        region=None if raw.get("region") is None else str(raw["region"]),
        cites=str(raw["cites"]),
        snapshot=snapshot,
        application=application,
        expect=dict(raw["expect"]),
        labels=labels,
    )


def load_golden_cases(directory: Path | str = GOLDEN_DIRECTORY) -> list[GoldenCase]:
    """Every case in ``directory/*.yaml``; case ids must be unique across files."""
    cases: list[GoldenCase] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for raw in document.get("cases", []):
            cases.append(_build_case(raw, path.name))
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate golden case ids: {duplicates}")
    return cases


def check_case(case: GoldenCase, params: ParameterSet) -> tuple[Assessment, list[str]]:
    """Run a case; return the assessment and a list of mismatches against ``expect`` (empty = pass)."""
    result = assess(case.programme, case.snapshot, case.on, case.region, params, case.application)
    problems: list[str] = []
    for field in ("eligible", "monthly_amount_fen", "one_off_amount_fen", "required_approver", "mode"):
        if field in case.expect and getattr(result, field) != case.expect[field]:
            problems.append(f"{field}: expected {case.expect[field]!r}, got {getattr(result, field)!r}")
    if "covered" in case.expect:
        expected = sorted(str(case.labels[str(x)]) for x in case.expect["covered"])
        got = sorted(str(x) for x in result.covered_member_ids)
        if expected != got:
            names = {v: k for k, v in case.labels.items()}
            problems.append(
                f"covered: expected {sorted(case.expect['covered'])}, "
                f"got {sorted(names[x] for x in result.covered_member_ids)}"
            )
    return result, problems
