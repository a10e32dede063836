"""Readiness knows the schema: an API whose database is not yet at its code's migration head takes no traffic
(a rollout starts new pods before, or while, the migration Job runs)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from shared.migrations import SERVICES, alembic_config, heads


@pytest.mark.parametrize("service", SERVICES)
async def test_ready_when_the_schema_is_at_the_codes_head(api, service) -> None:
    r = await api(service).get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": True, "schema": True, "kafka": True}


async def test_not_ready_while_the_schema_is_one_migration_behind_and_ready_again_once_migrated(api, db) -> None:
    (head,) = heads("intake")
    previous = ScriptDirectory.from_config(alembic_config("intake", "")).get_revision(head).down_revision
    assert isinstance(previous, str)
    async with db.begin() as conn:
        await conn.execute(text("UPDATE intake.alembic_version SET version_num = :v"), {"v": previous})
    try:
        r = await api("intake").get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {"database": True, "schema": False, "kafka": True}
        # The other services' schemas are theirs: still ready.
        assert (await api("payments").get("/readyz")).status_code == 200
    finally:
        async with db.begin() as conn:
            await conn.execute(text("UPDATE intake.alembic_version SET version_num = :v"), {"v": head})
    r = await api("intake").get("/readyz")
    assert r.status_code == 200, r.text
