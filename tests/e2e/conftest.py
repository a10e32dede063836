from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from infra import free_port
from stack import SERVICES, Stack  # deploy/local/stack.py

from tests.conftest import Infra

CHROMIUM = "/usr/bin/chromium"


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


@pytest.fixture
async def browser(tmp_path: Path):
    """Headless Debian Chromium driven by Playwright (never `playwright install`), for the browser tests."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: `make test` installs Debian's chromium when run as root with apt; "
            "elsewhere install it (apt-get install chromium) to run the browser tests"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # A fresh profile each run (Playwright passes it to Chromium as --user-data-dir).
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            locale="zh-CN",
            viewport={"width": 1400, "height": 1800},
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield context
        finally:
            await context.close()
