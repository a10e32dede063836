"""Shared fixtures. Unit tests need nothing; integration tests get a throwaway PostgreSQL (and Kafka where the
backbone is under test); end-to-end tests also get the eight service processes. All on free ports."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET


@dataclass(frozen=True)
class Infra:
    database_url: str
    bootstrap: str
    kafka: object  # infra.Kafka: the e2e fault tests stop and restart it
    pg: object  # infra.Postgres: the chaos run restarts it


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    from infra import throwaway  # deploy/local/infra.py

    from shared.migrations import SERVICES, upgrade

    with throwaway("assistance-test-") as (pg, kafka):
        os.environ.update(
            {
                "DATABASE_URL": pg.url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
                "ENVIRONMENT": "test",
            }
        )
        for service in SERVICES:  # tests migrate with Alembic, exactly as production does
            upgrade(service, pg.url)
        yield Infra(pg.url, kafka.bootstrap, kafka, pg)


def bearer(sub: str, roles: list[str], region: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(sub, roles, region, DEV_JWT_SECRET)}


@pytest.fixture(scope="session")
def tokens() -> dict[str, dict[str, str]]:
    """Headers for the usual actors in 吴起县 (610626): 铁边城镇 (610626101) clerk, county approver, …"""
    return actor_tokens()


def actor_tokens() -> dict[str, dict[str, str]]:
    """The `tokens` fixture's headers, minted now: a test that moves the clock mints its own on the moved clock."""
    return {
        "clerk": bearer("clerk-tiebian", ["clerk"], "610626101"),
        "clerk_other_township": bearer("clerk-zhouwan", ["clerk"], "610626102"),
        "clerk_other_county": bearer("clerk-zhidan", ["clerk"], "610625100"),
        "reviewer": bearer("reviewer-tiebian", ["township_reviewer"], "610626101"),
        "approver": bearer("approver-wuqi", ["county_approver"], "610626"),
        "finance": bearer("finance-wuqi", ["finance"], "610626"),
        "auditor": bearer("auditor-yanan", ["auditor"], "6106"),
        "admin": bearer("admin", ["admin"], "national"),
    }


async def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll an async predicate until it returns something truthy; the value is returned."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
async def db(infra: Infra) -> AsyncIterator[object]:
    """An engine on the test database for assertions about what was (not) written."""
    from shared.db import create_engine

    engine = create_engine(infra.database_url, 5)
    yield engine
    await engine.dispose()
