"""Every query of the application drafts: the draft a verification opens, and the drafts' list."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.drafts.schemas import DraftQuery
from services.intake.models import Application, ApplicationDraft
from shared.pagination import Keyset, Rows, keyset_page

# The drafts' order (shared/pagination.py): oldest first, served by ix_application_drafts_created_at_id (migration
# 0019).
DRAFTS = Keyset("application-drafts", (ApplicationDraft.created_at, ApplicationDraft.id))

# A draft is completed once an application for its household and programme was received on or after the verification.
_COMPLETED = exists().where(
    Application.household_id == ApplicationDraft.household_id,
    Application.programme == ApplicationDraft.programme,
    Application.submitted_on >= ApplicationDraft.verified_on,
)


class DraftRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, values: dict[str, Any]) -> uuid.UUID | None:
        """The draft of an alert's verification; None when that alert's draft exists already (a replayed event)."""
        return await self.session.scalar(
            insert(ApplicationDraft)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=[ApplicationDraft.alert_id])
            .returning(ApplicationDraft.id)
        )

    async def page(self, region_prefix: str, q: DraftQuery) -> Rows[Any]:
        """`q`'s drafts under `region_prefix`, each row (draft, completed)."""
        query = select(ApplicationDraft, _COMPLETED.label("completed")).where(
            ApplicationDraft.region_code.startswith(region_prefix, autoescape=True)
        )
        if q.household_id is not None:
            query = query.where(ApplicationDraft.household_id == q.household_id)
        if q.programme:
            query = query.where(ApplicationDraft.programme == q.programme)
        if q.status == "to_complete":
            query = query.where(~_COMPLETED)
        elif q.status == "completed":
            query = query.where(_COMPLETED)
        return await keyset_page(self.session, query, DRAFTS, q, scalars=False)
