from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.conftest import Infra


@pytest.fixture(scope="session")
async def api(infra: Infra) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """`api("intake")`: an HTTP client for a service's real app, in process, on the test database."""
    async with AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}

        async def start(service: str) -> httpx.AsyncClient:
            app = importlib.import_module(f"services.{service}.api").app
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}")
            )

        for service in ("intake", "eligibility", "payments", "monitoring"):
            clients[service] = await start(service)
        yield clients.__getitem__
