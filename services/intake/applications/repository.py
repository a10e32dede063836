"""Every application and evidence query of intake."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.applications.schemas import ApplicationQuery
from services.intake.models import LIVE, Application, Evidence, Member
from shared.pagination import Keyset, Rows, keyset_page
from shared.uow import UnitOfWork

OPEN_STATUSES = ("submitted", "in_review")


# The applications' order (shared/pagination.py), served by ix_applications_created_at_id (0004_list_indexes).
APPLICATIONS = Keyset("applications", (Application.created_at, Application.id), descending=True)


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, application_id: uuid.UUID, *, for_update: bool = False) -> Application | None:
        return await self.session.get(Application, application_id, with_for_update=for_update)

    async def live(self, household_id: uuid.UUID, programme: str) -> Application | None:
        """The household's live application for the programme (uq_applications_live's rows), if any."""
        return await self.session.scalar(
            select(Application).where(
                Application.household_id == household_id, Application.programme == programme, text(f"({LIVE})")
            )
        )

    async def many_for_update(self, application_ids: set[uuid.UUID]) -> dict[uuid.UUID, Application]:
        rows = await self.session.scalars(
            select(Application).where(Application.id.in_(application_ids)).order_by(Application.id).with_for_update()
        )
        return {a.id: a for a in rows}

    async def page(self, region_prefix: str, q: ApplicationQuery, fingerprint: str | None) -> Rows[Application]:
        """`q`'s applications under `region_prefix`, newest first; `fingerprint`: those of the households this
        person is an active member of."""
        query = select(Application).where(Application.region_code.startswith(region_prefix, autoescape=True))
        if q.household_id is not None:
            query = query.where(Application.household_id == q.household_id)
        if q.programme:
            query = query.where(Application.programme == q.programme)
        if q.status:
            query = query.where(Application.status == q.status)
        if fingerprint:
            query = query.where(
                Application.household_id.in_(
                    select(Member.household_id).where(Member.id_fingerprint == fingerprint, Member.active)
                )
            )
        return await keyset_page(self.session, query, APPLICATIONS, q)


def add_new(uow: UnitOfWork, application: Application) -> None:
    """A new application, written at commit with the audit and outbox rows (the answer is built from the object)."""
    # Unset columns are left out, so they take their defaults (a JSONB None would be stored as JSON null).
    row = {c.key: getattr(application, c.key) for c in Application.__table__.columns}
    uow.add_rows(Application.__table__, [{k: v for k, v in row.items() if v is not None}])


class EvidenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, application_id: uuid.UUID, evidence_id: uuid.UUID) -> Evidence | None:
        return await self.session.scalar(
            select(Evidence).where(Evidence.id == evidence_id, Evidence.application_id == application_id)
        )

    async def for_application(self, application_id: uuid.UUID) -> list[Evidence]:
        rows = await self.session.scalars(
            select(Evidence)
            .where(Evidence.application_id == application_id)
            .order_by(Evidence.uploaded_at, Evidence.id)
        )
        return list(rows)

    async def kinds(self, application_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """Which document kinds each application has evidence for."""
        if not application_ids:
            return {}
        rows = await self.session.execute(
            select(Evidence.application_id, Evidence.kind)
            .distinct()
            .where(Evidence.application_id.in_(application_ids))
        )
        out: dict[uuid.UUID, set[str]] = {}
        for application_id, kind in rows:
            out.setdefault(application_id, set()).add(kind)
        return out

    def add(self, evidence: Evidence) -> None:
        self.session.add(evidence)
