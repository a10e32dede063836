"""Application drafts (申请草稿) from monitoring: a township verified an alert as "brought into assistance", so
the front desk finds a draft for the household and programme to complete as an application."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert

from services.intake.models import Application, ApplicationDraft
from shared import audit
from shared.auth import Principal
from shared.events.catalogue import AlertVerified
from shared.schemas import attributes
from shared.uow import UnitOfWork


class DraftOut(BaseModel):
    id: uuid.UUID
    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: str
    note: str | None
    verified_on: date
    status: Literal["to_complete", "completed"]


async def on_alert_verified(uow: UnitOfWork, data: AlertVerified) -> None:
    if data.outcome != "brought_into_assistance" or data.programme is None:
        return
    created = await uow.session.scalar(
        insert(ApplicationDraft)
        .values(id=uuid.uuid4(), **attributes(data, ApplicationDraft))
        .on_conflict_do_nothing(index_elements=[ApplicationDraft.alert_id])
        .returning(ApplicationDraft.id)
    )
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


async def search(uow: UnitOfWork, principal: Principal, status: str | None, limit: int, offset: int) -> list[DraftOut]:
    """Drafts in the caller's region; one counts as completed once an application for its household and
    programme was received on or after the verification."""
    completed = exists().where(
        Application.household_id == ApplicationDraft.household_id,
        Application.programme == ApplicationDraft.programme,
        Application.submitted_on >= ApplicationDraft.verified_on,
    )
    query = select(ApplicationDraft, completed.label("completed")).where(
        ApplicationDraft.region_code.startswith(principal.region, autoescape=True)
    )
    if status == "to_complete":
        query = query.where(~completed)
    elif status == "completed":
        query = query.where(completed)
    rows = (
        await uow.session.execute(
            query.order_by(ApplicationDraft.created_at, ApplicationDraft.id).limit(limit).offset(offset)
        )
    ).all()
    await audit.record(uow, principal, "application_draft.list", "application_draft", [d for d, _ in rows])
    return [DraftOut(**attributes(d, DraftOut), status="completed" if done else "to_complete") for d, done in rows]
