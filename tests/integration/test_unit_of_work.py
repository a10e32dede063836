"""The request's unit of work on the real PostgreSQL: one commit, before the answer, all or nothing."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter
from sqlalchemy import insert, text

from services.monitoring.config import Settings
from services.monitoring.models import AlertRow, platform
from shared.app import UowDep, create_app

router = APIRouter()


@router.post("/half-done")
async def half_done(uow: UowDep) -> dict:
    marker = str(uuid.uuid4())
    await uow.session.execute(
        insert(platform.audit_log).values(
            actor="tester", roles=["test"], action="uow.partial", resource_type="t", resource_id=marker
        )
    )
    # Staged, not flushed: the NOT NULL violation only shows when the unit of work commits, after this returns.
    uow.session.add(AlertRow(id=uuid.uuid4(), region_code=None, alert_type="high_medical_cost"))
    return {"marker": marker}


async def test_a_failed_commit_is_never_answered_with_success_and_writes_nothing(infra, db):
    app = create_app(Settings(), platform, [router], title="uow test")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        r = await client.post("/half-done")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    async with db.connect() as conn:
        partial = (
            await conn.execute(text("SELECT count(*) FROM monitoring.audit_log WHERE action = 'uow.partial'"))
        ).scalar()
    assert partial == 0
