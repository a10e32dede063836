"""Programme rules: pure functions (household snapshot, date, region, parameters) → :class:`Assessment`.

Every rule reads its figures through :class:`_Context`, which records each parameter value it used in the
trace, so a decision carries its own 计算依据. No rule touches a database, the clock or the network.

Money is integer fen throughout. Comparisons of per-capita income with a standard multiply the standard by
the number of people instead of dividing the income, so no rounding happens before a threshold test.

One module per programme, named by its key; common.py holds what two or more of them share.
"""

from __future__ import annotations

from datetime import date

from shared.core.household import HouseholdSnapshot

from ..assessment import ApplicationFacts, Assessment
from ..parameters import ParameterSet, default_parameters
from .common import Rule, counted_monthly_income_fen, member_monthly_income_fen, yuan
from .de_facto_orphan import assess_de_facto_orphan
from .dibao import assess_dibao, is_severely_disabled
from .disability_care import assess_disability_care
from .disability_living import assess_disability_living
from .marginal import assess_marginal
from .medical import assess_medical
from .orphan import assess_orphan
from .rigid_expense import assess_rigid_expense
from .tekun import assess_tekun, care_level
from .temporary import assess_temporary

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
