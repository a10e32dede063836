"""What payments holds for persons' months (`POST /balances/held`), asked by the what-if with the caller's own token:
payments checks the caller's role and region itself, and audits the read. Data crosses services only by REST or
events; this is REST, read-only, and only for the dry run."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from services.eligibility.config import Settings
from shared.core.period import Period
from shared.errors import ServiceUnavailable

# (household, programme, member) → {month: fen held}
Held = dict[tuple[uuid.UUID, str, uuid.UUID], dict[Period, int]]
HeldLookup = Callable[[Sequence[tuple[uuid.UUID, str, uuid.UUID]], Period, Period], Awaitable[Held]]
CHUNK = 5_000


def lookup(state: Any, authorization: str, settings: Settings) -> HeldLookup | None:
    """The caller's lookup of held money (asked with the caller's `authorization`), or None when no payments API is
    configured. The app keeps one client (`state.payments`, the app's state), made on first use; a test may put its
    own there. Payments unreachable or refusing: the kit's 503."""
    client: httpx.AsyncClient | None = getattr(state, "payments", None)
    if client is None:
        if not settings.payments_url:
            return None
        client = state.payments = httpx.AsyncClient(
            base_url=settings.payments_url, timeout=settings.payments_timeout_seconds
        )

    async def held(persons: Sequence[tuple[uuid.UUID, str, uuid.UUID]], first: Period, last: Period) -> Held:
        out: Held = {}
        for at in range(0, len(persons), CHUNK):
            chunk = persons[at : at + CHUNK]
            body = {
                "persons": [{"household_id": str(h), "programme": p, "member_id": str(m)} for h, p, m in chunk],
                "from_month": str(first),
                "through": str(last),
            }
            try:
                r = await client.post("/balances/held", json=body, headers={"Authorization": authorization})
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"payments could not be asked: {exc.__class__.__name__}") from exc
            if r.status_code != 200:
                raise ServiceUnavailable(f"payments answered {r.status_code} to what holds money for the months")
            for row in r.json():
                key = (uuid.UUID(row["household_id"]), row["programme"], uuid.UUID(row["member_id"]))
                out.setdefault(key, {})[Period.parse(row["period"])] = int(row["held_fen"])
        return out

    return held
