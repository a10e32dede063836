"""Retention periods are settings; the outbox and inbox must outlive the topics' retention."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.config import Settings
from shared.settings import ServiceSettings


def test_defaults_keep_rows_longer_than_the_topics() -> None:
    s = ServiceSettings()
    assert s.inbox_retention_days > s.topic_retention_days and s.outbox_retention_days > s.topic_retention_days
    assert s.idempotency_retention_hours == 24


@pytest.mark.parametrize("name", ["inbox_retention_days", "outbox_retention_days"])
def test_a_period_not_longer_than_the_topics_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        ServiceSettings(**{name: 30})


def test_periods_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_IDEMPOTENCY_RETENTION_HOURS", "6")
    monkeypatch.setenv("INTAKE_PURGE_BATCH_SIZE", "100")
    s = Settings()
    assert (s.idempotency_retention_hours, s.purge_batch_size) == (6, 100)


def test_the_roll_import_staging_is_kept_thirty_days_unless_set_and_at_least_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INTAKE_ROLL_IMPORT_RETENTION_DAYS", raising=False)
    assert Settings().roll_import_retention_days == 30
    monkeypatch.setenv("INTAKE_ROLL_IMPORT_RETENTION_DAYS", "7")
    assert Settings().roll_import_retention_days == 7
    monkeypatch.setenv("INTAKE_ROLL_IMPORT_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="roll_import_retention_days"):
        Settings()
