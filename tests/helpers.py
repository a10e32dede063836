"""Test data from the seed reports: households in 吴起县 (610626) with valid resident IDs."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

from shared.core.identity import check_character

# One counter per (area, birth date, sex): a number's sequence part holds 500 per sex, so calls for other dates
# never use them up. Started at random so that numbers a previous run left (make run's database) are unlikely.
_serials: dict[tuple[str, str, bool], itertools.count] = {}


def resident_id(birth: str = "19560312", male: bool = True, area: str = "610626") -> str:
    """A fresh valid GB 11643 number (unique per call within a run): odd sequence numbers for men; past the 500
    of a birth date, the next day's."""
    n = next(_serials.setdefault((area, birth, male), itertools.count(random.randint(0, 250))))
    day = date(int(birth[:4]), int(birth[4:6]), int(birth[6:])) + timedelta(days=n // 500)
    first17 = f"{area}{day:%Y%m%d}{(n % 500) * 2 + (1 if male else 0):03d}"
    return first17 + check_character(first17)


def chinese_number(n: int) -> str:
    """A number as name characters (12 → 一二): a person's name holds no digits (shared/core/names.py)."""
    return "".join("〇一二三四五六七八九"[int(d)] for d in str(n))


def household_body(region_code: str = "610626101201", members: int = 2, income_fen: int = 20_000) -> dict:
    """A rural household in 铁边城镇, like those the 2023 吴起县 report counts (6384 persons / 2786 households)."""
    people = [
        {"name": "李建国", "id_number": resident_id("19560312", True), "relation": "head", "labour_capacity": "partial"}
    ]
    if members > 1:
        people.append(
            {
                "name": "王秀兰",
                "id_number": resident_id("19580704", False),
                "relation": "spouse",
                "labour_capacity": "none",
                "disability_category": "physical",
                "disability_grade": 2,
            }
        )
    for i in range(2, members):
        people.append(
            {
                "name": f"李小{chinese_number(i)}",
                "id_number": resident_id("20120901", i % 2 == 0),
                "relation": "child",
                "student": True,
            }
        )
    return {
        "region_code": region_code,
        "hukou_type": "rural",
        "address": "吴起县铁边城镇某村",
        "members": people,
        "incomes": [
            {"earner": 0, "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": income_fen},
            {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
        ],
        "properties": [{"kind": "housing", "value_fen": 8_000_000, "description": "自建窑洞"}],
        "rigid_expenses": [{"kind": "medical", "amount_fen_12m": 1_200_000}],
    }


# Smallest files each evidence check recognises by content (magic bytes), not by name.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def problem(r, status: int, field: str) -> dict:
    """The problem+json body of a refused request, after checking its status and that it names `field`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert any(e["field"] == field for e in body.get("errors", [])), body
    return body


def idem(headers: dict[str, str], key: str) -> dict[str, str]:
    """Headers with an Idempotency-Key, as a front-desk app sends on every POST."""
    return {**headers, "Idempotency-Key": key}


def delivery(data, correlation: str | None = None):
    """An event as the consumer hands it to a set-based handler (`shared.consumer.on_batch`)."""
    from shared.consumer import Delivery
    from shared.events.catalogue import event_type
    from shared.events.envelope import DomainEvent

    event = DomainEvent(event_type(type(data)), str(getattr(data, "household_id", "key")), data)
    return Delivery(event.to_cloudevent("/tests", correlation), data)


async def report_death(db, household_id, member_id, region_code: str, died: date) -> None:
    """A partner's death record matched to a member (`death.reported`), applied by eligibility's handler."""
    import uuid

    from services.eligibility.cases.service import on_death_reported
    from services.eligibility.models import platform
    from shared.db import session_factory
    from shared.events.catalogue import DeathReported
    from shared.uow import UnitOfWork

    death = DeathReported(
        alert_id=uuid.uuid4(),
        household_id=household_id,
        member_id=member_id,
        region_code=region_code,
        death_date=died,
        source="public_security",
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await on_death_reported(uow, death)
        await uow.commit()


async def walk(client, path: str, headers: dict[str, str], params: dict | None = None, limit: int = 500) -> list:
    """Every item of a list (shared/pagination.py), page after page until `next` is null; each page must be 200."""
    items, cursor = [], None
    while True:
        r = await client.get(
            path, params={**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if (cursor := page["next"]) is None:
            return items


async def villages_loaded(db, villages: dict[str, str], at: datetime | None = None) -> None:
    """吴起县's village list (code → name) as intake announces it (villages.loaded), applied by the handlers of
    eligibility, payments and monitoring; `at` the load's time (now unless given)."""
    from services.eligibility import models as eligibility
    from services.monitoring import models as monitoring
    from services.payments import models as payments
    from shared.db import session_factory
    from shared.events.catalogue import VillagesLoaded
    from shared.places import record_villages
    from shared.uow import UnitOfWork

    data = VillagesLoaded(
        county_code="610626",
        villages=[{"code": c, "name": n} for c, n in villages.items()],
        loaded_at=at or datetime.now(UTC),
    )
    for service in (eligibility, payments, monitoring):
        async with UnitOfWork(session_factory(db), service.platform, "/tests") as uow:
            await record_villages(service.village_names)(uow, data)
            await uow.commit()


async def run_recomputes(db, chunk_size: int | None = None, **kwargs) -> int:
    """The eligibility worker's recompute runner, one round (`recompute_runner`): every 提标 recompute the
    `policy.standard_changed` events queued, run to its end; how many finished. `kwargs` go to `run_recompute` for
    one recompute (`recompute_id`, `params`) instead of every one queued."""
    from services.eligibility.models import platform
    from services.eligibility.recompute import service
    from shared.db import session_factory
    from shared.jobs import Job
    from shared.uow import UnitOfWork

    sessions = session_factory(db)
    job = Job(lambda: UnitOfWork(sessions, platform, "/services/eligibility"))
    if "recompute_id" in kwargs:
        return int(await service.run_recompute(job, kwargs.pop("recompute_id"), chunk_size, **kwargs))
    return await service.run_recomputes(job, chunk_size=chunk_size)
