"""Monitoring's pure parts: the alert's steps and events, feed row validation, the risk parameter tree."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.monitoring.alerts.domain import Alert, AlertStatus, Outcome
from services.monitoring.feeds.kinds import RowContext, RowError, check_header, validate_row
from services.monitoring.risk.parameters import RiskParameters, risk_parameters
from services.monitoring.risk.rules import RULES, county_parameters
from shared.core.identity import id_fingerprint
from shared.core.regions import RegionTable
from shared.dated_parameters import PolicyLoadError
from shared.errors import Conflict, InvalidInput
from shared.events.catalogue import AlertClosed, AlertRaised, AlertVerified, DeathReported
from tests.helpers import resident_id

TODAY = date(2024, 3, 15)
KEY = b"unit-test-key-0123456789"
NOTHING: frozenset[str] = frozenset()
DIBAO = frozenset({"dibao"})


def alert(alert_type: str = "high_medical_cost", **kw) -> Alert:
    return Alert(
        id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        region_code="610626101201",
        alert_type=alert_type,
        status=AlertStatus.DISPATCHED,
        due_date=TODAY + timedelta(days=20),
        trace={},
        raised_on=TODAY,
        **kw,
    )


def test_an_alert_is_verified_then_closed_and_says_so():
    a = alert()
    a.raised()
    a.verify(
        "reviewer",
        TODAY,
        Outcome.BROUGHT_INTO_ASSISTANCE,
        programme="medical",
        reasons=[],
        note=None,
        receiving=frozenset(),
    )
    assert a.allowed_next == ["close"]
    a.close("reviewer", TODAY + timedelta(days=1))
    assert a.status is AlertStatus.CLOSED and a.allowed_next == []
    assert [type(e) for e in a.events] == [AlertRaised, AlertVerified, AlertClosed]
    assert a.events[1].programme == "medical" and a.events[2].outcome == "brought_into_assistance"


@pytest.mark.parametrize(
    ("outcome", "programme", "reasons", "receiving", "field"),
    [
        (Outcome.BROUGHT_INTO_ASSISTANCE, None, [], NOTHING, "programme"),
        (Outcome.NOT_ELIGIBLE, None, [], NOTHING, "reasons"),
        (Outcome.RECIPIENT_CHANGE, "dibao", [], DIBAO, "programme"),
        (Outcome.RECIPIENT_CHANGE, None, ["income"], DIBAO, "reasons"),
        (Outcome.RECIPIENT_CHANGE, None, [], NOTHING, "outcome"),  # a household receiving nothing has no case to review
        (Outcome.DEATH_REPORTED, None, [], DIBAO, "outcome"),
        # a draft for a programme the household receives could never become an application
        (Outcome.BROUGHT_INTO_ASSISTANCE, "dibao", [], DIBAO, "programme"),
        (Outcome.NOT_ELIGIBLE, None, ["income", "income"], NOTHING, "reasons"),  # each reason once
    ],
)
def test_a_verification_needs_what_its_outcome_needs(outcome, programme, reasons, receiving, field):
    with pytest.raises(InvalidInput) as info:
        alert().verify("r", TODAY, outcome, programme=programme, reasons=reasons, note=None, receiving=receiving)
    assert [e["field"] for e in info.value.errors] == [field]


def test_illegal_steps_name_the_allowed_ones():
    a = alert()
    with pytest.raises(Conflict) as info:
        a.close("r", TODAY)
    assert info.value.extra["allowed_next"] == ["verify"]
    assert "cannot be closed" in str(info.value)
    with pytest.raises(InvalidInput):
        a.verify(
            "r",
            TODAY - timedelta(days=1),
            Outcome.NOT_ELIGIBLE,
            programme=None,
            reasons=["income"],
            note=None,
            receiving=frozenset(),
        )
    a.verify("r", TODAY, Outcome.NOT_ELIGIBLE, programme=None, reasons=["income"], note=None, receiving=frozenset())
    with pytest.raises(Conflict) as info:
        a.verify("r", TODAY, Outcome.NOT_ELIGIBLE, programme=None, reasons=["income"], note=None, receiving=frozenset())
    assert "an alert that is verified cannot be verified" in str(info.value)


def test_a_death_is_reported_and_closed_without_a_township_step():
    a = alert(alert_type="recipient_death")
    member = uuid.uuid4()
    a.report_death(member, TODAY - timedelta(days=3), "public_security", TODAY)
    assert (a.status, a.outcome) == (AlertStatus.CLOSED, Outcome.DEATH_REPORTED)
    death, closed = a.events
    assert isinstance(death, DeathReported) and death.member_id == member and isinstance(closed, AlertClosed)


def test_two_deaths_of_a_household_are_each_reported_with_their_own_date():
    a = alert(alert_type="recipient_death")
    husband, wife = uuid.uuid4(), uuid.uuid4()
    a.report_deaths([(husband, TODAY - timedelta(days=20)), (wife, TODAY - timedelta(days=3))], "funeral", TODAY)
    first, second, closed = a.events
    assert isinstance(first, DeathReported) and isinstance(second, DeathReported) and isinstance(closed, AlertClosed)
    assert [(e.member_id, e.death_date) for e in (first, second)] == [
        (husband, TODAY - timedelta(days=20)),
        (wife, TODAY - timedelta(days=3)),
    ]


@pytest.fixture(scope="module")
def ctx() -> RowContext:
    return RowContext(RegionTable.load(), "610626", TODAY, KEY)


def test_a_good_medical_row_becomes_a_typed_record_with_a_fingerprint(ctx):
    number = resident_id("19600101")
    record = validate_row(
        "medical",
        {
            "id_number": number.lower(),
            "region_code": "610626101",
            "settled_on": "2024-03-01",
            "out_of_pocket_fen": "123456",
            "serious_illness": "1",
        },
        ctx,
    )
    assert record == (
        "medical",
        id_fingerprint(number, KEY),
        "610626101",
        date(2024, 3, 1),
        123456,
        "serious_illness",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id_number": "610626196001010000"}, "id_number", "check character"),
        ({"out_of_pocket_fen": "-100"}, "out_of_pocket_fen", "negative"),
        ({"out_of_pocket_fen": "12.5"}, "out_of_pocket_fen", "whole number"),
        ({"settled_on": "2024-04-01"}, "settled_on", "future"),
        ({"settled_on": "15/03/2024"}, "settled_on", "YYYY-MM-DD"),
        ({"region_code": "610625101"}, "region_code", "outside"),
        ({"region_code": "999999"}, "region_code", "not in the division tables"),
        ({"serious_illness": "maybe"}, "serious_illness", "true or false"),
    ],
)
def test_bad_rows_name_the_field_and_why(ctx, change, field, words):
    row = {
        "id_number": resident_id(),
        "region_code": "610626101",
        "settled_on": "2024-03-01",
        "out_of_pocket_fen": "100",
        **change,
    }
    with pytest.raises(RowError) as info:
        validate_row("medical", row, ctx)
    assert info.value.field == field and words in info.value.message
    assert row["id_number"] not in info.value.message


def test_headers_are_checked_for_missing_and_unknown_columns():
    assert check_header("death", ["id_number", "region_code", "death_date"]) == []
    problems = check_header("death", ["id_number", "death_day"])
    assert "missing column(s) region_code, death_date" in problems[0] and "death_day" in problems[1]


def test_the_risk_tree_loads_and_gives_every_rule_its_values_for_wuqi():
    values = county_parameters(risk_parameters(), ["610626", "320830"], TODAY)
    assert set(values) == {"610626"}  # no monitoring line for 320830: its rules cannot fire, and it is logged
    wuqi = values["610626"]
    assert wuqi["v"]["monitoring.line"] == 730_000 and wuqi["v"]["dibao.standard.rural"] == 600_000
    assert set(wuqi["trace"]) == set(RULES)
    medical = wuqi["trace"]["high_medical_cost"]["parameters"]["risk.medical.share_of_income"]
    assert medical["value"] == "0.5" and medical["region"] == "610626" and medical["reference"]
    assert date.fromisoformat(wuqi["due_date"]) > TODAY


def test_an_unknown_risk_key_fails_at_load_naming_file_and_key(tmp_path: Path):
    (tmp_path / "61.yaml").write_text(
        "risk:\n  medical:\n    share:\n      - {start: 2023-01-01, value: 1, reference: x}\n", encoding="utf-8"
    )
    with pytest.raises(PolicyLoadError, match=r"61\.yaml: risk\.medical\.share: unknown parameter key"):
        RiskParameters.load(tmp_path)


def test_the_agencies_that_post_feeds_are_the_partner_agencies_tokens_may_name():
    from services.monitoring.feeds.kinds import AGENCY_KINDS
    from shared.auth import PARTNER_AGENCIES

    assert set(AGENCY_KINDS) == PARTNER_AGENCIES
