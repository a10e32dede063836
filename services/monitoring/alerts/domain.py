"""The alert (预警) as a plain domain object: its states, the steps between them, and the events they raise.
Nothing here knows about SQL, HTTP or Kafka.

dispatched (to the household's township) → verified (核实, with an outcome) → closed (办结).
A recipient's death needs no township step: eligibility is told at once and the alert is closed on raising."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from shared.aggregate import Aggregate, Routing
from shared.errors import Conflict, InvalidInput
from shared.events.catalogue import AlertClosed, AlertRaised, AlertVerified, DeathReported, EventData


class AlertStatus(StrEnum):
    DISPATCHED = "dispatched"  # 已派发 to the township
    VERIFIED = "verified"  # 已核实
    CLOSED = "closed"  # 已办结


class Outcome(StrEnum):
    BROUGHT_INTO_ASSISTANCE = "brought_into_assistance"  # 纳入救助
    NOT_ELIGIBLE = "not_eligible"  # 不符合条件, with the reasons
    RECIPIENT_CHANGE = "recipient_change"  # 在保对象情况变化, needs a review
    DEATH_REPORTED = "death_reported"  # 死亡: eligibility stopped the case


NOT_ELIGIBLE_REASONS = ("basic_situation", "income", "property", "rigid_spending", "per_capita_income")
# What each state lets one do next (the 409 lists them).
NEXT_STEPS: dict[AlertStatus, tuple[str, ...]] = {
    AlertStatus.DISPATCHED: ("verify",),
    AlertStatus.VERIFIED: ("close",),
    AlertStatus.CLOSED: (),
}
# Each step as the 409's message names it ("cannot be verified"): verbs do not all take a plain "d".
DONE = {"verify": "verified", "close": "closed"}


@dataclass
class Alert(Aggregate):
    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alert_type: str
    status: AlertStatus
    due_date: date | None
    trace: dict[str, Any]
    raised_on: date
    outcome: Outcome | None = None
    programme: str | None = None
    reasons: list[str] = field(default_factory=list)
    note: str | None = None
    verified_on: date | None = None
    verified_by: str | None = None
    closed_on: date | None = None
    closed_by: str | None = None
    events: list[EventData] = field(default_factory=list)

    @property
    def routing(self) -> Routing:
        return Routing(key=self.household_id, region=self.region_code, subject=str(self.id))

    @property
    def allowed_next(self) -> list[str]:
        return list(NEXT_STEPS[self.status])

    def _require(self, step: str) -> None:
        if step not in NEXT_STEPS[self.status]:
            raise Conflict(f"an alert that is {self.status} cannot be {DONE[step]}", allowed_next=self.allowed_next)

    def raised(self) -> None:
        """Announce a newly raised alert."""
        self._raise(AlertRaised)

    def verify(
        self,
        by: str,
        on: date,
        outcome: Outcome,
        *,
        programme: str | None,
        reasons: list[str],
        note: str | None,
        receiving: frozenset[str],
    ) -> None:
        """核实 by the township, with its outcome; `receiving`: the programmes the household is on a roll for now (a
        change of a recipient's situation asks eligibility to review its case: a household receiving nothing has
        none; a household is not brought into a programme it receives: intake would refuse the application)."""
        self._require("verify")
        if on < self.raised_on:
            raise InvalidInput("on", f"cannot be before the alert was raised ({self.raised_on})")
        if outcome is Outcome.DEATH_REPORTED:
            raise InvalidInput("outcome", "deaths are reported by the partner data, not verified")
        if outcome is Outcome.RECIPIENT_CHANGE and not receiving:
            raise InvalidInput(
                "outcome", "the household receives no assistance: brought_into_assistance, or not_eligible with reasons"
            )
        if outcome is Outcome.BROUGHT_INTO_ASSISTANCE and programme is None:
            raise InvalidInput("programme", "say which programme the household is brought into")
        if programme in receiving:
            raise InvalidInput(
                "programme", f"the household already receives {programme}: recipient_change asks for a review"
            )
        if outcome is not Outcome.BROUGHT_INTO_ASSISTANCE and programme is not None:
            raise InvalidInput("programme", "only for brought_into_assistance")
        if outcome is Outcome.NOT_ELIGIBLE and not reasons:
            raise InvalidInput("reasons", f"give at least one of {', '.join(NOT_ELIGIBLE_REASONS)}")
        if len(set(reasons)) != len(reasons):
            raise InvalidInput("reasons", "give each reason once")
        if outcome is not Outcome.NOT_ELIGIBLE and reasons:
            raise InvalidInput("reasons", "only for not_eligible")
        self.status, self.outcome, self.programme, self.reasons = AlertStatus.VERIFIED, outcome, programme, reasons
        self.note, self.verified_on, self.verified_by = note, on, by
        self._raise(
            AlertVerified, outcome=outcome.value, programme=programme, reasons=reasons, note=note, verified_on=on
        )

    def close(self, by: str, on: date) -> None:
        """办结: the outcome is recorded and acted on."""
        self._require("close")
        if self.verified_on and on < self.verified_on:
            raise InvalidInput("on", f"cannot be before the verification ({self.verified_on})")
        self.status, self.closed_on, self.closed_by = AlertStatus.CLOSED, on, by
        self._closed_event()

    def report_death(self, member_id: uuid.UUID, death_date: date, source: str, on: date) -> None:
        """A recipient died: eligibility stops the case without a township step; the township sees the alert."""
        self.report_deaths([(member_id, death_date)], source, on)

    def report_deaths(self, deaths: Sequence[tuple[uuid.UUID, date]], source: str, on: date) -> None:
        """Members of the household died (each with their own date): eligibility is told of each, one
        death.reported per member, without a township step; the township sees the one alert, closed."""
        self._require("verify")
        if not deaths:
            raise InvalidInput("deaths", "at least one member's death")
        self.status, self.outcome = AlertStatus.CLOSED, Outcome.DEATH_REPORTED
        self.verified_on = self.closed_on = on
        self.verified_by = self.closed_by = "monitoring"
        for member_id, death_date in deaths:
            self._raise(DeathReported, member_id=member_id, death_date=death_date, source=source)
        self._closed_event()

    def _closed_event(self) -> None:
        assert self.outcome is not None and self.closed_on is not None
        self._raise(AlertClosed, outcome=self.outcome.value, closed_on=self.closed_on)

    def _raise(self, event: type[EventData], **data: Any) -> None:
        """Record an event: the alert's own fields that it carries (which alert, household, region and type; the
        deadline and trace) from the alert, the rest from `data`."""
        own = {
            "alert_id": self.id,
            "household_id": self.household_id,
            "region_code": self.region_code,
            "alert_type": self.alert_type,
            "due_date": self.due_date,
            "trace": self.trace,
        }
        self.events.append(event(**{k: v for k, v in own.items() if k in event.model_fields}, **data))
