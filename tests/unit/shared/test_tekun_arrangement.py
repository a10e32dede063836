"""特困 集中 / 分散供养 travels as an optional field: from intake's typed details to eligibility's approval; events and
rows published before it existed still read (as None)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.intake.applications.service import _programme_details
from shared.core.period import Period
from shared.errors import InvalidInput
from shared.events.catalogue import CaseApproved, TekunDetails, application_details


def test_tekun_details_carry_the_arrangement_and_old_ones_read_without_it() -> None:
    assert (
        application_details("tekun", {"programme": "tekun", "arrangement": "institution"}).arrangement == "institution"
    )
    old = application_details("tekun", {})
    assert isinstance(old, TekunDetails) and old.arrangement is None
    with pytest.raises(ValidationError):
        application_details("tekun", {"programme": "tekun", "arrangement": "hotel"})


def test_case_approved_published_before_the_field_reads_as_unknown() -> None:
    event = {
        "case_id": str(uuid.uuid4()),
        "application_id": str(uuid.uuid4()),
        "household_id": str(uuid.uuid4()),
        "programme": "tekun",
        "region_code": "610626101201",
        "member_ids": [],
        "monthly_amount_fen": 86_000,
        "effective_month": "2026-07",
        "decided_at": datetime(2026, 6, 20, tzinfo=UTC).isoformat(),
    }
    assert CaseApproved.model_validate(event).tekun_arrangement is None
    assert CaseApproved.model_validate({**event, "tekun_arrangement": "home"}).effective_month == Period(2026, 7)


def test_intake_takes_the_arrangement_for_tekun_only() -> None:
    assert _programme_details("tekun", None, None, [], "home").arrangement == "home"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as bad:
        _programme_details("dibao", None, None, [], "institution")
    assert "tekun_arrangement" in str(bad.value.errors)
