"""The risk rules (风险预警规则), one module each (its alert type, parameters and SQL), and what the matching
(alerts/repository.py, set-based) needs of them: the parameter values in force per county, parsed once into
`_params`, and the trace every alert keeps (rule, parameter values, their start dates and legal references)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from services.monitoring.risk.parameters import RiskParameters
from services.monitoring.risk.rules import (
    below_monitoring_line,
    disability_uncovered,
    high_medical_cost,
    low_income_uncovered,
    possible_overpayment,
    recipient_death,
    sudden_hardship,
)
from services.monitoring.risk.rules.rule import Parameter, RiskRule
from shared.core.workdays import add_workdays
from shared.dated_parameters import ParameterError, PeriodicMoney

log = logging.getLogger(__name__)


RULES: dict[str, RiskRule] = {
    module.RULE.alert_type: module.RULE
    for module in (
        below_monitoring_line,
        low_income_uncovered,
        high_medical_cost,
        disability_uncovered,
        recipient_death,
        possible_overpayment,
        sudden_hardship,
    )
}
_ALL_KEYS = sorted({p.key for rule in RULES.values() for p in rule.parameters} | {"risk.verify_within_wd"})


def parameters_table_sql() -> str:
    """The statement that parses each county's values once into `_params`, one typed column per parameter any
    rule reads (`:params` is county_parameters' result as JSON)."""
    columns: dict[str, Parameter] = {}
    for rule in RULES.values():
        for parameter in rule.parameters:
            if columns.setdefault(parameter.column, parameter) != parameter:
                raise ValueError(f"two rules read {parameter.column} differently")
    typed = "".join(f",\n       (value -> 'v' ->> '{p.key}')::{p.sql_type} AS {p.column}" for p in columns.values())
    return (
        "CREATE TEMP TABLE _params ON COMMIT DROP AS\n"
        "SELECT key AS county, value -> 'trace' AS trace, (value ->> 'due_date')::date AS due_date"
        f"{typed}\nFROM jsonb_each(CAST(:params AS jsonb))"
    )


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
                    for key in (p.key for p in rule.parameters)
                },
            }
            for alert_type, rule in RULES.items()
        }
        due = add_workdays(on, int(found["risk.verify_within_wd"].value))
        result[county] = {"v": values, "trace": traces, "due_date": due.isoformat()}
    return result
