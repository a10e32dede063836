"""A 吴起县 demo month for the county view: cases, alerts and a paid regular batch in one township, applied through
the real consumer runners (payments' roll and the county read model) and payments' real batch endpoints; and what
the figures must then be, counted by hand from what was fed."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import httpx
from aiokafka import ConsumerRecord

from services.payments.county.readmodel import HANDLERS as COUNTY_HANDLERS
from shared.consumer import EventConsumer
from shared.core.period import Period
from shared.events.catalogue import (
    AlertRaised,
    AlertVerified,
    CaseApproved,
    CaseOpened,
    CaseRejected,
    EventData,
    event_type,
    spec_for,
)
from shared.events.envelope import DomainEvent
from tests.conftest import bearer
from tests.payments_kit import PaymentsKit, bank_rows, return_file

OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")
_offsets = itertools.count(10_000_000)


def at(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # 11:00 China time, the same day


class CountyKit(PaymentsKit):
    """Every event goes through payments' roll consumer and through the county read model's consumer."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.county = EventConsumer(
            name="payments.county",
            topics=[],
            handlers=COUNTY_HANDLERS,
            uow_factory=self.uow,
            bootstrap="",
            producer=None,
        )  # type: ignore[arg-type]

    async def publish(self, data: EventData, key: uuid.UUID, when: datetime | None = None) -> ConsumerRecord:
        kind = event_type(type(data))
        event = DomainEvent(type=kind, key=str(key), data=data, **({"time": when} if when else {}))
        value = event.to_cloudevent("/tests", None).to_json()
        record = ConsumerRecord(
            spec_for(kind).topic.value, 0, next(_offsets), 0, 0, str(key).encode(), value, None, 0, len(value), []
        )
        await self.consumer.process([record])
        await self.county.process([record])
        return record


async def _case(
    kit: CountyKit,
    region: str,
    programme: str,
    *,
    opened: date | None,
    due: date | None,
    approved: date | None = None,
    rejected: date | None = None,
    monthly: int | None = None,
    one_off: int | None = None,
    persons: int = 1,
    effective: Period | None = None,
    household: uuid.UUID | None = None,
) -> uuid.UUID:
    case_id, household_id = uuid.uuid4(), household or uuid.uuid4()
    if opened:
        await kit.publish(
            CaseOpened(
                case_id=case_id,
                application_id=uuid.uuid4(),
                household_id=household_id,
                programme=programme,
                region_code=region,
                status="accepted",
                due_date=due,
            ),
            household_id,
            at(opened),
        )
    if approved:
        await kit.payee(household_id, region, "6217000012345678901")
        await kit.publish(
            CaseApproved(
                case_id=case_id,
                application_id=uuid.uuid4(),
                household_id=household_id,
                programme=programme,
                region_code=region,
                member_ids=[uuid.uuid4() for _ in range(persons)],
                monthly_amount_fen=monthly,
                one_off_amount_fen=one_off,
                effective_month=effective or Period.of(approved),
                decided_at=at(approved),
            ),
            household_id,
        )
    if rejected:
        await kit.publish(
            CaseRejected(
                case_id=case_id,
                application_id=uuid.uuid4(),
                household_id=household_id,
                programme=programme,
                region_code=region,
                reasons=["income"],
                decided_at=at(rejected),
            ),
            household_id,
        )
    return household_id


async def _alert(
    kit: CountyKit,
    region: str,
    household: uuid.UUID,
    alert_type: str,
    raised: date,
    due: date | None,
    verified: date | None = None,
    programme: str | None = None,
) -> None:
    alert_id = uuid.uuid4()
    await kit.publish(
        AlertRaised(
            alert_id=alert_id,
            household_id=household,
            region_code=region,
            alert_type=alert_type,
            due_date=due,
            trace={"rule": alert_type},
        ),
        household,
        at(raised),
    )
    if verified:
        await kit.publish(
            AlertVerified(
                alert_id=alert_id,
                household_id=household,
                region_code=region,
                alert_type=alert_type,
                outcome="brought_into_assistance",
                programme=programme,
                verified_on=verified,
            ),
            household,
            at(verified),
        )


async def seed_demo_month(
    kit: CountyKit,
    pay: httpx.AsyncClient,
    finance: dict[str, str],
    township: str,
    month: Period,
    build: Callable[[], Awaitable[object]],
) -> dict:
    """Feed the month; pay its regular batch (every line returned paid); return the expected figures."""
    d = month.first_day.replace
    v1, v2 = township + "201", township + "202"
    a = await _case(
        kit, v1, "dibao", opened=month.plus(-1).first_day, due=None, approved=d(day=2), monthly=150_000, persons=3
    )  # received the month before
    await _case(kit, v1, "dibao", opened=d(day=3), due=d(day=28), approved=d(day=5), monthly=50_000)
    await _case(kit, v2, "tekun", opened=None, due=None, approved=d(day=6), monthly=80_000)
    t = await _case(kit, v2, "temporary", opened=d(day=4), due=d(day=14), approved=d(day=8), one_off=200_000, persons=2)
    await _case(kit, v2, "dibao", opened=d(day=2), due=d(day=20))  # never decided: overdue in the month
    await _case(kit, v1, "dibao", opened=d(day=3), due=d(day=24), rejected=d(day=15))
    await _case(
        kit, v1, "dibao", opened=d(day=10), due=d(day=25), approved=d(day=24), monthly=40_000, effective=month.next()
    )  # decided in time, paid from next month
    h = uuid.uuid4()
    await _alert(kit, v1, a, "below_monitoring_line", d(day=9), None)
    await _alert(kit, v2, t, "sudden_hardship", d(day=3), d(day=13), verified=d(day=7), programme="temporary")
    await _alert(kit, v2, h, "high_medical_cost", d(day=12), d(day=15))

    for _attempt in range(3):  # as any client does after a 503 (the suite restarts PostgreSQL before this runs)
        r = await pay.post(
            "/batches", json={"region_code": township, "period": str(month), "kind": "regular"}, headers=finance
        )
        if r.status_code != 503:
            break
        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
    assert r.status_code in (200, 202), r.text
    batch_id = r.json()["id"]
    for _ in range(300):
        await build()
        b = (await pay.get(f"/batches/{batch_id}", headers=finance)).json()
        if b["status"] == "built":
            break
    assert b["status"] == "built", b
    assert (await pay.post(f"/batches/{batch_id}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch_id}/export", headers=finance)).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{batch_id}/bank-file", headers=finance)).content)
    r = await pay.post(
        f"/batches/{batch_id}/returns",
        headers=finance,
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return {
        "batch_id": batch_id,
        "programmes": {"dibao": (2, 4, 200_000), "tekun": (1, 1, 80_000), "temporary": (0, 0, 200_000)},
        "money_fen": 480_000,
        "cases": {"received": 5, "approved": 5, "rejected": 1, "overdue": 1},
        "alerts": {"raised": 3, "verified": 1, "brought_into_assistance": 1, "open_now": 2, "overdue_now": 1},
        "coverage": {"monitored_households": 2, "covered_households": 2, "by_programme": {"dibao": 1, "temporary": 1}},
    }
