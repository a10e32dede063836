"""Alerts: raised set-based from partner rows by the risk rules, then verified and closed by the township.
The service loads, calls the Alert's step, saves, emits its events and audits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal, Unpack

from services.monitoring.alerts.domain import Alert, Outcome
from services.monitoring.alerts.repository import AlertRepository, Scope
from services.monitoring.alerts.schemas import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertQuery,
    ClosureIn,
    EvidenceOut,
    VerificationIn,
)
from services.monitoring.config import Settings
from services.monitoring.models import village_names
from services.monitoring.readmodel.repository import ReadModelRepository
from services.monitoring.risk.in_force import effective_risk_parameters
from services.monitoring.risk.parameters import risk_parameters
from services.monitoring.risk.rules import county_parameters
from shared import audit
from shared.auth import Principal
from shared.core.period import china_today
from shared.core.workdays import add_workdays
from shared.errors import InvalidInput
from shared.pagination import narrowed
from shared.places import PlaceNames
from shared.uow import UnitOfWork

SYSTEM = "monitoring"


async def raise_alerts(uow: UnitOfWork, today: date, source: str, scope: Scope) -> int:
    """Run the risk rules over a feed's rows (or rows just matched to a household) and dispatch new alerts.
    A recipient's death goes straight to eligibility; the township sees the alert, already closed."""
    repo = AlertRepository(uow.session)
    await repo.lock_matching()
    params = county_parameters(await effective_risk_parameters(uow), await repo.counties(), today)
    if not params:
        return 0
    raised = await repo.raise_from(params, today, scope)
    deaths = 0
    async for page in repo.new_alerts(today):
        died = []
        for alert in page:
            alert.raised()
            if alert.alert_type == "recipient_death":
                reported = [
                    (uuid.UUID(d["member_id"]), date.fromisoformat(d["death_date"]))
                    for d in alert.trace["observed"]["deaths"]
                ]
                alert.report_deaths(reported, source, today)
                died.append(alert)
                deaths += len(reported)
            uow.track(alert)
        await repo.save(died)
        await uow.flush_events()  # a page's events go to the outbox now: memory stays flat however many alerts
    if raised:
        await audit.record(
            uow,
            SYSTEM,
            "alert.raise",
            "feed" if scope.feed_id else "feed_record",
            scope.feed_id,
            details={"alerts": raised, "deaths_reported": deaths},
        )
    return raised


def to_out(alert: Alert, places: PlaceNames, today: date | None = None) -> AlertOut:
    today = today or china_today()
    return AlertOut.model_validate(
        {
            **vars(alert),
            "place": places(alert.region_code),
            "status": alert.status.value,
            "outcome": alert.outcome.value if alert.outcome else None,
            "overdue": alert.status.value != "closed" and alert.due_date is not None and alert.due_date < today,
            "allowed_next": alert.allowed_next,
        }
    )


async def _visible(uow: UnitOfWork, principal: Principal, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert:
    alert = principal.sees(await AlertRepository(uow.session).get(alert_id, for_update=for_update), f"alert {alert_id}")
    uow.track(alert)
    return alert


async def read(uow: UnitOfWork, principal: Principal, alert_id: uuid.UUID) -> AlertDetail:
    alert = await _visible(uow, principal, alert_id)
    evidence = await AlertRepository(uow.session).evidence(alert.id)
    await audit.record(uow, principal, "alert.read", "alert", alert)
    places = await PlaceNames.load(uow, village_names, [alert.region_code])
    return AlertDetail(
        **to_out(alert, places).model_dump(),
        evidence=[EvidenceOut.model_validate(e, from_attributes=True) for e in evidence],
    )


def _on(day: date | None, field: str = "on") -> date:
    today = china_today()
    on = day or today
    if on > today:
        raise InvalidInput(field, "cannot be in the future")
    return on


async def _take(
    uow: UnitOfWork,
    principal: Principal,
    alert_id: uuid.UUID,
    step: Callable[[Alert], None],
    action: str,
    **fields: Unpack[audit.Fields],
) -> AlertOut:
    """Load → take the step on the alert → save, publish and audit: one township step of an alert's life."""
    alert = await _visible(uow, principal, alert_id, for_update=True)
    step(alert)
    await AlertRepository(uow.session).save([alert])
    await audit.record(uow, principal, action, "alert", alert, **fields)
    return to_out(alert, await PlaceNames.load(uow, village_names, [alert.region_code]))


async def verify(uow: UnitOfWork, principal: Principal, alert_id: uuid.UUID, body: VerificationIn) -> AlertOut:
    household = (await _visible(uow, principal, alert_id)).household_id
    receiving = await ReadModelRepository(uow.session).programmes(household)
    return await _take(
        uow,
        principal,
        alert_id,
        lambda alert: alert.verify(
            principal.sub,
            _on(body.on),
            Outcome(body.outcome),
            programme=body.programme,
            reasons=list(body.reasons),
            note=body.note,
            receiving=receiving,
        ),
        "alert.verify",
        reason=body.note,
        details={"outcome": body.outcome, "programme": body.programme, "reasons": list(body.reasons)},
    )


async def close(uow: UnitOfWork, principal: Principal, alert_id: uuid.UUID, body: ClosureIn) -> AlertOut:
    return await _take(uow, principal, alert_id, lambda alert: alert.close(principal.sub, _on(body.on)), "alert.close")


async def search(
    uow: UnitOfWork,
    principal: Principal,
    query: AlertQuery,
    due: Literal["overdue", "soon"] | None = None,
    id_number: str | None = None,
    settings: Settings | None = None,
) -> AlertPage:
    """Alerts in the caller's region; `due` = overdue (open, past the due date) or soon (open, due within the
    region's due-soon window of working days), earliest due first; `id_number`: of a member's households."""
    fingerprint = settings.id_fingerprinter()(id_number) if id_number and settings else None
    prefix = narrowed(principal.region, query.region)
    if prefix is None:
        return AlertPage(items=[], next=None, total=0)
    today, due_from = china_today(), None
    if due == "overdue":
        query = query.model_copy(update={"due_before": today})
    elif due == "soon":
        window = int(risk_parameters().at("risk.due_soon_wd", today, prefix[:6] or "00").value)
        due_from = today
        query = query.model_copy(update={"due_before": add_workdays(today, window) + timedelta(days=1)})
    page = await AlertRepository(uow.session).page(prefix, query, fingerprint=fingerprint, due_from=due_from)
    # Each alert shown is a read of its household's data.
    await audit.record(uow, principal, "alert.list", "alert", page.rows, details={"due": due, "status": query.status})
    places = await PlaceNames.load(uow, village_names, [a.region_code for a in page.rows])
    return AlertPage(items=[to_out(a, places, today) for a in page.rows], next=page.next, total=page.total)
