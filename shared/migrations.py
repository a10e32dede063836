"""Alembic, run programmatically: each service keeps its migrations in `services/<name>/migrations` and its
version table in its own schema. `python -m shared.migrations <service>` is the prestart step: wait for the
database, then upgrade to head."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.db import platform_triggers_sql

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "eligibility", "payments", "monitoring")
log = logging.getLogger(__name__)


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url)
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


@functools.cache
def heads(service: str) -> frozenset[str]:
    """The revisions this code's migrations end at (one, unless a merge is pending)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(service, "")).get_heads())


async def schema_at_head(conn: AsyncConnection, service: str) -> bool:
    """Whether the service's schema is at the code's head: its Alembic version table (in the service's own schema)
    holds exactly the head revisions. False before the migration Job ran, and while it runs."""
    rows = await conn.execute(text(f'SELECT version_num FROM "{service}".alembic_version'))
    return frozenset(rows.scalars()) == heads(service)


def run_env(target_metadata: MetaData, schema: str) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.get_main_option("sqlalchemy.url")

    def migrate(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.begin() as conn:
            await conn.run_sync(migrate)
        await engine.dispose()

    asyncio.run(main())


def outbox_payload_as_json(op: Any, schema: str) -> None:
    """The outbox's payload as `json` (the CloudEvent's text as written), compressed with lz4 where the server has
    it: a JSONB payload was parsed when written, serialised again when the relay read it and compressed with pglz,
    for a value nothing queries by its content. Rewrites the table (its sent rows too): run before the services."""
    op.execute(f"ALTER TABLE {schema}.outbox ALTER COLUMN payload TYPE json USING payload::json")
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_settings
                       WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                ALTER TABLE {schema}.outbox ALTER COLUMN payload SET COMPRESSION lz4;
            END IF;
        END $$""")


def outbox_payload_as_jsonb(op: Any, schema: str) -> None:
    """`outbox_payload_as_json` undone."""
    op.execute(f"ALTER TABLE {schema}.outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb")
    op.execute(f"ALTER TABLE {schema}.outbox ALTER COLUMN payload SET COMPRESSION default")


def create_village_names(op: Any, schema: str) -> None:
    """The `village_names` table of `shared.places` in a service's schema, as it was first created (a migration
    stays as it ran: a later change of the table is a migration of its own)."""
    import sqlalchemy as sa

    op.create_table(
        "village_names",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_village_names"),
        schema=schema,
    )
    op.create_index("ix_village_names_county_code", "village_names", ["county_code"], schema=schema)


def drop_village_names(op: Any, schema: str) -> None:
    """`create_village_names` undone."""
    op.drop_index("ix_village_names_county_code", table_name="village_names", schema=schema)
    op.drop_table("village_names", schema=schema)


def install_platform_triggers(op: object, schema: str) -> None:
    """For each service's first migration: append-only audit_log, and the outbox's wake-up notification."""
    for statement in platform_triggers_sql(schema):
        op.execute(statement)  # type: ignore[attr-defined]


async def wait_for_database(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"database not reachable after {timeout}s") from exc
            await asyncio.sleep(1)
        finally:
            await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    from shared.settings import ServiceSettings

    args = argv if argv is not None else sys.argv[1:]
    url = ServiceSettings().database_url
    if args[:1] == ["revision"]:  # python -m shared.migrations revision <service> "<message>"
        command.revision(alembic_config(args[1], url), message=args[2], autogenerate=True)
        return
    services = args or list(SERVICES)
    asyncio.run(wait_for_database(url))
    for service in services:
        upgrade(service, url)
        print(f"migrated {service}")


if __name__ == "__main__":
    main()
