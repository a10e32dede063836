"""The manual works on an intranet: each service's `/docs` (Swagger UI) and `/redoc`, opened in headless Chromium
with every request off this machine refused (as on a county's government network without internet), load their
scripts and styles from the service itself and render the operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Route
from stack import SERVICES  # deploy/local/stack.py

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass
class Offline:
    browser: BrowserContext
    refused: list[tuple[str, str]] = field(default_factory=list)  # (resource type, URL)


@pytest.fixture
async def offline(browser: BrowserContext) -> Offline:
    """The browser with the network closed: any request to a host other than this machine is aborted (and
    recorded, so the test can say which)."""
    closed = Offline(browser)

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            closed.refused.append((route.request.resource_type, route.request.url))
            await route.abort("internetdisconnected")

    await browser.route("**/*", only_local)
    return closed


@pytest.mark.parametrize("service", list(SERVICES))
async def test_swagger_ui_renders_the_operations_without_internet(stack, offline: Offline, service: str) -> None:
    page = await offline.browser.new_page()
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    await page.goto(stack.url(service) + "/docs")
    await page.wait_for_selector(".opblock", timeout=20_000)
    paths = (await (await page.context.request.get(stack.url(service) + "/openapi.json")).json())["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert await page.locator(".opblock").count() == operations > 0
    assert offline.refused == []
    # The script and the styles came from the service.
    assets = {urlsplit(u).path.rsplit("/", 1)[-1] for u in loaded if urlsplit(u).hostname in LOCAL_HOSTS}
    assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= assets


async def test_redoc_renders_without_internet(stack, offline: Offline) -> None:
    service = "eligibility"
    page = await offline.browser.new_page()
    await page.goto(stack.url(service) + "/redoc")
    await page.wait_for_selector("[data-section-id^='operation/']", timeout=20_000)
    assert await page.locator("[data-section-id^='operation/']").count() > 0
    # Only ReDoc's own "API docs by Redocly" logo is fetched from the internet: a broken image, nothing more.
    assert {kind for kind, _ in offline.refused} <= {"image"}
