"""Every golden case (services/eligibility/policy/golden/*.yaml) must produce its expected outcome."""

from __future__ import annotations

import pytest

from services.eligibility.policy import PROGRAMMES, default_parameters
from services.eligibility.policy.golden_cases import check_case, load_golden_cases

CASES = load_golden_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case(case) -> None:  # type: ignore[no-untyped-def]
    result, problems = check_case(case, default_parameters())
    assert not problems, f"{case.source} {case.id} ({case.cites}): {problems}; reasons: {result.reasons}"
    assert result.trace, "every decision must carry the parameters it used"


def test_golden_suite_covers_every_programme_and_both_dibao_modes() -> None:
    assert len(CASES) >= 45
    assert {c.programme for c in CASES} == set(PROGRAMMES)
    modes = {c.expect.get("mode") for c in CASES if c.programme == "dibao"}
    assert {"gap", "tier", "single_person"} <= modes
    assert all(c.cites.strip() for c in CASES)
    regions = {c.snapshot.county_code for c in CASES}
    assert {"610626", "320830"} <= regions


def test_gap_county_has_cases_either_side_of_1_july() -> None:
    gap_dates = {c.on for c in CASES if c.snapshot.county_code == "320830" and c.programme == "dibao"}
    assert any(d.month < 7 for d in gap_dates) and any(d.month >= 7 for d in gap_dates)
