"""The household's current version at intake (`GET /households/{id}`: its `version`, the ETag), asked by a review
whose official did not say which version they saw, with the caller's own token: intake checks the caller's role and
region itself, and audits the read. Data crosses services only by REST or events; this is REST, read-only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from services.eligibility.config import Settings
from shared.errors import ServiceUnavailable

HouseholdVersion = Callable[[uuid.UUID], Awaitable[int]]


def lookup(state: Any, authorization: str, settings: Settings) -> HouseholdVersion | None:
    """The caller's lookup of a household's current version (asked with the caller's `authorization`), or None when
    no intake API is configured. The app keeps one client (`state.intake`, the app's state), made on first use; a
    test may put its own there. Intake unreachable or refusing: the kit's 503."""
    client: httpx.AsyncClient | None = getattr(state, "intake", None)
    if client is None:
        if not settings.intake_url:
            return None
        client = state.intake = httpx.AsyncClient(base_url=settings.intake_url, timeout=settings.intake_timeout_seconds)

    async def version(household_id: uuid.UUID) -> int:
        try:
            r = await client.get(f"/households/{household_id}", headers={"Authorization": authorization})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"intake could not be asked: {exc.__class__.__name__}") from exc
        if r.status_code != 200:
            raise ServiceUnavailable(f"intake answered {r.status_code} to the household's current version")
        return int(r.json()["version"])

    return version
