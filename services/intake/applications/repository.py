"""Every application and evidence query of intake."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import orjson
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

    async def mirrors_for_update(self, application_ids: set[uuid.UUID]) -> dict[uuid.UUID, CaseMirror]:
        """The case-facing columns of these applications, locked in id order: what mirroring a run of case events
        reads and changes, without loading (and flushing one versioned UPDATE per row of) the ORM objects."""
        rows = await self.session.execute(_MIRRORS_FOR_UPDATE, {"ids": list(application_ids)})
        return {
            r.id: CaseMirror(**{**r._mapping, "decision": orjson.loads(r.decision) if r.decision else None})
            for r in rows
        }

    async def save_mirrors(self, mirrors: list[CaseMirror]) -> None:
        """The changed mirrors, each row by its primary key (one round trip for them all), its version bumped as the
        ORM's would be. No version check: `mirrors_for_update` holds their locks until the commit."""
        if mirrors:
            await self.session.execute(
                _SAVE_MIRROR,
                [
                    {
                        **{f: getattr(m, f) for f in _MIRRORED},
                        "id": m.id,
                        "decision": orjson.dumps(m.decision).decode() if m.decision is not None else None,
                    }
                    for m in mirrors
                ],
            )

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


@dataclass
class CaseMirror:
    """What an application shows of eligibility's case (`mirror_case_events`), with what its audit names."""

    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    version: int
    status: str
    case_id: uuid.UUID | None
    case_status: str | None
    next_deadline: date | None
    next_deadline_provisional: bool
    withdrawal: str | None
    withdrawal_refused_because: str | None
    decision: dict[str, Any] | None

    def state(self) -> tuple:
        return tuple(getattr(self, f) for f in _MIRRORED)


_MIRRORED = tuple(f.name for f in fields(CaseMirror))[4:]
_MIRRORS_FOR_UPDATE = text(f"""
SELECT id, household_id, region_code, version, {", ".join(f for f in _MIRRORED if f != "decision")},
       decision::text AS decision
FROM intake.applications WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE
""")
# A mirror sets a decision, never clears one. One statement a row, found by primary key whatever the planner
# thinks of a table a bulk import grows faster than its statistics: one UPDATE … FROM the run's rows was planned as a
# hash join scanning the whole table, every run.
_SAVE_MIRROR = text("""
UPDATE intake.applications
SET status = :status, case_id = :case_id, case_status = :case_status, next_deadline = :next_deadline,
    next_deadline_provisional = :next_deadline_provisional, withdrawal = :withdrawal,
    withdrawal_refused_because = :withdrawal_refused_because, decision = coalesce(CAST(:decision AS jsonb), decision),
    updated_at = now(), version = version + 1
WHERE id = :id
""")


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
