"""The risk rules (风险预警规则): what each alert type means and which dated parameters it reads. The matching
itself is set-based SQL (alerts/repository.py); this module gives it the parameter values in force per county
and the trace every alert keeps (rule, parameter values, their start dates and legal references)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.monitoring.risk.parameters import RiskParameters
from shared.dated_parameters import ParameterError, PeriodicMoney
from shared.workdays import add_workdays

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RiskRule:
    alert_type: str
    description: str
    parameters: tuple[str, ...]


RULES: dict[str, RiskRule] = {
    r.alert_type: r
    for r in (
        RiskRule(
            "below_monitoring_line",
            "乡村振兴局 list: per-capita annual income below the year's monitoring line",
            ("monitoring.line",),
        ),
        RiskRule(
            "low_income_uncovered",
            "per-capita income below a multiple of the local 低保 standard and no 低保, 特困 or 低保边缘",
            ("risk.uncovered.income_multiple", "dibao.standard.rural", "dibao.standard.urban"),
        ),
        RiskRule(
            "high_medical_cost",
            "12-month medical out-of-pocket above a share of the household's annual income",
            ("risk.medical.share_of_income", "risk.medical.min_out_of_pocket_fen"),
        ),
        RiskRule(
            "disability_uncovered",
            "a newly certified disability in a household without the disability subsidies",
            ("risk.disability.new_within_days",),
        ),
        RiskRule("recipient_death", "the death of a member receiving assistance", ()),
        RiskRule(
            "possible_overpayment",
            "a business, property or vehicle registration or a bank balance of a 低保/特困 household",
            (
                "risk.overpayment.business_min_fen",
                "risk.overpayment.property_min_fen",
                "risk.overpayment.bank_balance_min_fen",
            ),
        ),
        RiskRule(
            "sudden_hardship",
            "突发严重困难: on the 乡村振兴局 list as sudden, or one very large medical bill",
            ("risk.sudden.single_cost_fen",),
        ),
    )
}
_ALL_KEYS = sorted({k for rule in RULES.values() for k in rule.parameters} | {"risk.verify_within_wd"})


def _plain(value: Any) -> Any:
    if isinstance(value, PeriodicMoney):
        return value.annual_fen()
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def county_parameters(params: RiskParameters, counties: Iterable[str], on: date) -> dict[str, Any]:
    """{county: {"v": {key: number}, "trace": {alert type: trace}, "due_date": ISO date}} for the rule SQL.
    A county without a value for some key is left out (no rule can fire there) and logged."""
    result: dict[str, Any] = {}
    for county in counties:
        try:
            found = {key: params.at(key, on, county) for key in _ALL_KEYS}
        except ParameterError as exc:
            log.warning("risk rules skipped for county %s: %s", county, exc)
            continue
        values = {key: _plain(v.value) for key, v in found.items()}
        traces = {
            alert_type: {
                "rule": alert_type,
                "description": rule.description,
                "on": on.isoformat(),
                "parameters": {
                    key: {
                        "value": _plain(found[key].value),
                        "start": found[key].start.isoformat(),
                        "region": found[key].source_region,
                        "reference": found[key].reference,
                    }
                    for key in rule.parameters
                },
            }
            for alert_type, rule in RULES.items()
        }
        due = add_workdays(on, int(found["risk.verify_within_wd"].value))
        result[county] = {"v": values, "trace": traces, "due_date": due.isoformat()}
    return result
