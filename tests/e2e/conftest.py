from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from infra import free_port
from stack import SERVICES, Stack  # deploy/local/stack.py

from tests.conftest import Infra


@pytest.fixture(scope="session")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The four APIs and four workers as separate processes on the throwaway infrastructure."""
    env = {
        "DATABASE_URL": infra.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "ENVIRONMENT": "test",
        "RELAY_POLL_SECONDS": "0.5",
    }
    s = Stack(
        env, ports={service: free_port() for service in SERVICES}, log_dir=tmp_path_factory.mktemp("service-logs")
    )
    s.start_all()
    try:
        await s.wait_healthy()
        yield s
    finally:
        s.stop_all()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client
