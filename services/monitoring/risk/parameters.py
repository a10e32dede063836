"""Risk-rule parameters (监测预警参数): dated, per region, with their legal reference, in the YAML tree
``parameters/`` next to this module (same layout and inheritance as eligibility's policy tree; loaded and
validated by :mod:`shared.dated_parameters`, so an unknown key or overlapping dates fail at start-up)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from shared.dated_parameters import (
    DatedParameters,
    ParameterSpec,
    count,
    money,
    periodic,
    ratio,
)

DIRECTORY = Path(__file__).parent / "parameters"

SCHEMA: dict[str, ParameterSpec] = {
    "monitoring.line": ParameterSpec(periodic, "L: 防返贫监测线, per-capita income per year"),
    "dibao.standard.rural": ParameterSpec(periodic, "L: rural 低保 standard per person (as the policy tree)"),
    "dibao.standard.urban": ParameterSpec(periodic, "L: urban 低保 standard per person (as the policy tree)"),
    "risk.uncovered.income_multiple": ParameterSpec(
        ratio, "N: a household not covered with per-capita income below this multiple of the 低保 standard"
    ),
    "risk.medical.share_of_income": ParameterSpec(
        ratio, "L: 12-month medical out-of-pocket above this share of the household's annual income"
    ),
    "risk.medical.min_out_of_pocket_fen": ParameterSpec(money, "L: and at least this much out of pocket"),
    "risk.sudden.single_cost_fen": ParameterSpec(
        money, "L: one medical bill out of pocket this large is a sudden hardship (突发严重困难)"
    ),
    "risk.disability.new_within_days": ParameterSpec(count, "L: a certificate this recent counts as new"),
    "risk.overpayment.business_min_fen": ParameterSpec(money, "L: registered capital that flags a 低保/特困 household"),
    "risk.overpayment.property_min_fen": ParameterSpec(money, "L: property or vehicle value that flags one"),
    "risk.overpayment.bank_balance_min_fen": ParameterSpec(money, "L: bank balance that flags one"),
    "risk.verify_within_wd": ParameterSpec(count, "L: the township verifies an alert within (working days)"),
    "risk.due_soon_wd": ParameterSpec(count, "L: an alert due within this many working days is due soon"),
}


class RiskParameters(DatedParameters):
    """Monitoring's dated regional parameters."""

    schema = SCHEMA


@lru_cache(maxsize=1)
def risk_parameters() -> RiskParameters:
    return RiskParameters.load(DIRECTORY)
