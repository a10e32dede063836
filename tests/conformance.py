"""The suite's schemathesis run, shared by the four services' tests: generated requests (valid ones, schema-violating
ones, and valid ones aimed at real records) must never get a 5xx, and every answer's status code and content type
must be documented in the service's OpenAPI (schemathesis' conformance checks).

Derandomized, so CI sees the same cases on every run and a failure reproduces; raise `examples` to explore."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@dataclass
class Run:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cases: Counter[str] = field(default_factory=Counter)  # per operation

    @property
    def operations(self) -> int:
        return len(self.cases)

    def report(self) -> str:
        kinds = Counter(failure.split(":", 1)[0] for failure in self.failures)  # operation → status, content type
        return f"{self.statuses}\n{kinds}\n\n" + "\n\n".join(self.failures[:5])


def fuzz(
    schema,
    headers: dict[str, str],
    *,
    base_url: str | None = None,
    examples: int = 25,
    path_values: dict[str, str] | None = None,
) -> Run:
    """Every operation of `schema`, `examples` cases per strategy; `path_values` aims some at real records."""
    run = Run()
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        names = re.findall(r"{(\w+)}", operation.path)
        if names and path_values and all(n in path_values for n in names):
            strategies.append(operation.as_strategy(path_parameters={n: path_values[n] for n in names}))

        _exercise(run, operation, strategies, headers, base_url, examples)
    return run


def _exercise(run: Run, operation, strategies, headers: dict[str, str], base_url: str | None, examples: int) -> None:
    @given(case=st.one_of(strategies))
    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def check(case) -> None:
        kwargs = {"base_url": base_url, "timeout": 20} if base_url else {}
        response = case.call(headers=headers, **kwargs)
        run.statuses[response.status_code] += 1
        run.cases[operation.label] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failure:
            run.failures.append(
                f"{operation.label} → {response.status_code} "
                f"{response.headers.get('content-type')}: {failure.message[:1500]}"
            )

    check()


# --- schemathesis' own runner, every check ---------------------------------------------------------------------


@dataclass
class Finding:
    check: str
    operation: str  # "POST /feeds/{kind}"
    status: int | None
    request: str  # what was sent, shortened


@dataclass
class FullRun:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)


def run_all_checks(raw_schema: dict, base_url: str, headers: dict[str, str], *, seed: int, examples: int) -> FullRun:
    """Schemathesis' engine as `st run --checks all --seed <seed>` runs it: every phase (examples, coverage,
    fuzzing, stateful) and every check, against a running service; what failed, per check and operation."""
    from schemathesis import openapi
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events, from_schema

    phases = ("examples", "coverage", "fuzzing", "stateful")
    config = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "base-url": base_url,
            "headers": headers,
            "checks": {"enabled": True},
            "generation": {"max-examples": examples},
            "phases": {phase: {"enabled": True} for phase in phases},
            "suppress-health-check": ["all"],
            "max-failures": 100_000,
            "cache": {"enabled": False},  # every run from scratch, and nothing written into the checkout
        }
    )
    run = FullRun()
    for event in from_schema(openapi.from_dict(raw_schema, config=config)).execute():
        if isinstance(event, events.FatalError):
            raise AssertionError(f"schemathesis could not run: {event.info.format()}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for interaction in recorder.interactions.values():
            if interaction.response is not None:
                run.cases += 1
                run.statuses[interaction.response.status_code] += 1
        for case_id, checks in recorder.checks.items():
            case = recorder.cases[case_id].value
            interaction = recorder.interactions.get(case_id)
            status = interaction.response.status_code if interaction and interaction.response else None
            for check in checks:
                if check.failure_info is not None:
                    sent = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:120]}"
                    run.findings.append(Finding(check.name, case.operation.label, status, sent))
    return run
