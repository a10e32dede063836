"""Application drafts (申请草稿) from monitoring: a township verified an alert as "brought into assistance", so
the front desk finds a draft for the household and programme to complete as an application."""

from __future__ import annotations

from services.intake.drafts.repository import DraftRepository
from services.intake.drafts.schemas import DraftOut, DraftPage, DraftQuery
from services.intake.models import ApplicationDraft
from shared import audit
from shared.auth import Principal
from shared.events.catalogue import AlertVerified
from shared.pagination import narrowed
from shared.schemas import attributes
from shared.uow import UnitOfWork


async def on_alert_verified(uow: UnitOfWork, data: AlertVerified) -> None:
    if data.outcome != "brought_into_assistance" or data.programme is None:
        return
    created = await DraftRepository(uow.session).create(attributes(data, ApplicationDraft))
    if created is not None:
        await audit.record(
            uow,
            "monitoring",
            "application_draft.create",
            "application_draft",
            created,
            household_id=data.household_id,
            region_code=data.region_code,
            details={"programme": data.programme, "alert_id": str(data.alert_id)},
        )


async def search(uow: UnitOfWork, principal: Principal, query: DraftQuery) -> DraftPage:
    """Drafts under the caller's region (or a township or village of it), oldest first; one counts as completed once
    an application for its household and programme was received on or after the verification."""
    prefix = narrowed(principal.region, query.region)
    if prefix is None:
        return DraftPage(items=[], next=None, total=0)
    page = await DraftRepository(uow.session).page(prefix, query)
    await audit.record(uow, principal, "application_draft.list", "application_draft", [d for d, _ in page.rows])
    items = [
        DraftOut(**attributes(d, DraftOut), status="completed" if done else "to_complete") for d, done in page.rows
    ]
    return DraftPage(items=items, next=page.next, total=page.total)
