"""Driving payments in tests: decision and payee events applied through the real consumer runner (inbox included),
batches built by the real build job, and small file helpers."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import uuid
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from services.payments.batches.jobs import build_all
from services.payments.config import Settings
from services.payments.models import platform
from services.payments.worker import HANDLERS, PAYEE_HANDLERS
from shared.consumer import EventConsumer
from shared.core.period import Period
from shared.db import session_factory
from shared.events.catalogue import (
    CaseAmountChanged,
    CaseApproved,
    CaseScheduleChanged,
    CaseTerminated,
    EventData,
    GradualExitStarted,
    PayeeChanged,
    ScheduleSegment,
)
from shared.events.envelope import DomainEvent
from shared.sealing import payee_binding
from shared.uow import UnitOfWork

_offsets = itertools.count()


# Every village of townships 110-159 once, in a random order: drawn independently, two of a run's ~50 tests shared
# a village now and then (≈ 3 % of runs), and one's batch paid the other's arrears.
_VILLAGES = iter(random.sample(range(50 * 900), 50 * 900))


def village() -> str:
    """A fresh 12-digit village code in 吴起县 (610626), never the same twice in a run, so each test has its own
    slice of the roll (townships 110-159; the e2e worker-kill test takes a whole township of 160-199, township()
    one of 200-299, the simulation 300 up)."""
    n = next(_VILLAGES)
    return f"610626{110 + n // 900}{100 + n % 900}"


_TOWNSHIPS = iter(random.sample(range(200, 300), 100))


def township() -> str:
    """A fresh 9-digit township code in 吴起县 that no other test's village or township lies in (200-299), for a
    test that builds a township's batch: two such tests in one township got each other's batch back."""
    return f"610626{next(_TOWNSHIPS)}"


class PaymentsKit:
    def __init__(self, engine, consumer_name: str = "payments.roll") -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.settings = Settings()
        self.consumer = self._consumer(consumer_name)
        self.records: list[ConsumerRecord] = []

    def _consumer(self, name: str) -> EventConsumer:
        return EventConsumer(
            name=name,
            topics=[],
            handlers={**HANDLERS, **PAYEE_HANDLERS},
            uow_factory=self.uow,
            bootstrap="",
            producer=None,
        )  # type: ignore[arg-type]

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, platform, "/tests")

    async def publish(self, data: EventData, key: uuid.UUID) -> ConsumerRecord:
        record = self.record(data, key)
        self.records.append(record)
        await self.consumer.process([record])
        return record

    @staticmethod
    def record(data: EventData, key: uuid.UUID, correlation_id: str | None = None) -> ConsumerRecord:
        """The Kafka record of an event, not yet processed (for a test that hands a consumer several at once)."""
        from shared.events.catalogue import event_type

        event = DomainEvent(type=event_type(type(data)), key=str(key), data=data)
        value = event.to_cloudevent("/tests", correlation_id).to_json()
        return ConsumerRecord(
            "eligibility.decisions", 0, next(_offsets), 0, 0, str(key).encode(), value, None, 0, len(value), []
        )

    async def replay(self, consumer_name: str | None = None) -> None:
        """Every event again, in order (a consumer group reset to offset 0, or a new one)."""
        consumer = self._consumer(consumer_name) if consumer_name else self.consumer
        await consumer.process(list(self.records))

    async def approve(
        self,
        region: str,
        amount_fen: int,
        effective: Period,
        *,
        persons: int = 2,
        programme: str = "dibao",
        account: str | None = "6217000012345678901",
        one_off_fen: int | None = None,
        tekun_arrangement: str | None = None,
        household_id: uuid.UUID | None = None,
    ) -> tuple[uuid.UUID, uuid.UUID]:
        case_id, household_id = uuid.uuid4(), household_id or uuid.uuid4()
        if account:
            await self.payee(household_id, region, account)
        await self.publish(
            CaseApproved(
                case_id=case_id,
                application_id=uuid.uuid4(),
                household_id=household_id,
                programme=programme,
                region_code=region,
                member_ids=[uuid.uuid4() for _ in range(persons)],
                monthly_amount_fen=None if one_off_fen else amount_fen,
                one_off_amount_fen=one_off_fen,
                effective_month=effective,
                decided_at=datetime(effective.year, effective.month, 1, 12, tzinfo=UTC),
                tekun_arrangement=tekun_arrangement,
            ),
            household_id,
        )
        return case_id, household_id

    async def payee(
        self,
        household_id: uuid.UUID,
        region: str,
        account: str | None,
        holder: str = "李建国",
        bank: str = "吴起农村商业银行",
    ) -> None:
        key_id = sealed = None
        changed_at = datetime.now(UTC)
        if account:
            plain = json.dumps(
                {"bank_name": bank, "account_holder": holder, "account_number": account}, ensure_ascii=False
            ).encode()
            key_id, sealed = self.settings.keyring().seal(plain, payee_binding(household_id, changed_at))
        await self.publish(
            PayeeChanged(
                household_id=household_id,
                region_code=region,
                key_id=key_id,
                sealed=sealed,
                account_last4=account[-4:] if account else None,
                changed_at=changed_at,
            ),
            household_id,
        )

    async def change(self, case_id, household_id, region, before: int, after: int, effective: Period) -> None:
        await self.publish(
            CaseAmountChanged(
                case_id=case_id,
                household_id=household_id,
                programme="dibao",
                region_code=region,
                previous_monthly_amount_fen=before,
                monthly_amount_fen=after,
                effective_month=effective,
            ),
            household_id,
        )

    async def gradual_exit(self, case_id, household_id, region, last: Period) -> None:
        await self.publish(
            GradualExitStarted(
                case_id=case_id, household_id=household_id, programme="dibao", region_code=region, last_month=last
            ),
            household_id,
        )

    async def terminate(self, case_id, household_id, region, last: Period, reason: str = "death") -> None:
        await self.publish(
            CaseTerminated(
                case_id=case_id,
                household_id=household_id,
                programme="dibao",
                region_code=region,
                reason=reason,
                last_month=last,
            ),
            household_id,
        )

    async def schedule(
        self,
        case_id: uuid.UUID,
        household_id: uuid.UUID,
        region: str,
        changed_from: Period,
        segments: list[tuple[Period, Period | None, int]] | list[tuple[Period, Period | None, int, int, uuid.UUID]],
        *,
        programme: str = "dibao",
        persons: int = 2,
        member_id: uuid.UUID | None = None,
        reason: str = "review",
    ) -> None:
        """`case.schedule_changed`: from `changed_from` the case owes exactly `segments` (from, to, fen a month; or
        from, to, fen, persons, member: a segment's own persons and person, where they differ from one segment to
        another)."""
        await self.publish(
            CaseScheduleChanged(
                case_id=case_id,
                household_id=household_id,
                programme=programme,
                region_code=region,
                changed_from=changed_from,
                segments=[
                    ScheduleSegment(
                        from_month=s[0],
                        to_month=s[1],
                        amount_fen=s[2],
                        persons=s[3] if len(s) > 3 else persons,
                        member_id=s[4] if len(s) > 3 else member_id,
                        reason=reason,
                    )
                    for s in segments
                ],
                reason=reason,
                decided_at=datetime.now(UTC),
            ),
            household_id,
        )

    async def build(self, chunk_size: int = 2) -> int:
        return await build_all(self.uow, chunk_size)

    async def exported(self, pay, region: str, period: Period, finance: dict, second: dict) -> str:
        """The id of `region`'s regular batch of `period`, asked for and exported by `finance`, built by the job
        and approved by `second` (another officer)."""
        r = await pay.post("/batches", json={"region_code": region, "period": str(period)}, headers=finance)
        assert r.status_code == 202, r.text
        batch = r.json()["id"]
        await self.build()
        assert (await pay.post(f"/batches/{batch}/approve", headers=second)).status_code == 200
        assert (await pay.post(f"/batches/{batch}/export", headers=finance)).status_code == 200
        return batch


def bank_rows(content: bytes, encoding: str = "utf-8") -> list[dict[str, str]]:
    """A bank file's payment rows, after checking its last row is the control record of exactly them."""
    *rows, control = list(csv.DictReader(io.StringIO(content.decode(encoding))))
    fen = sum(int(r["amount_yuan"].replace(".", "")) for r in rows)
    assert control["payment_id"] == "CONTROL", control
    assert (control["account_holder"], control["memo"]) == (str(len(rows)), f"lines={len(rows)};total_fen={fen}")
    assert control["amount_yuan"] == f"{fen // 100}.{fen % 100:02d}"
    return rows


def return_file(rows: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["payment_id", "amount_yuan", "result", "reason"])
    writer.writerows(rows)
    return out.getvalue().encode()


async def seed_roll(engine, region: str, n: int, start: Period, *, payees: bool = False, keyring=None) -> None:
    """A roll of `n` beneficiaries in `region` straight into payments' tables (set-based), with their first
    entitlement rows, what each household is owed from `start` on, and, if asked, a sealed payee each — for
    reliability tests and the benchmark."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.beneficiaries (id, case_id, household_id, programme, region_code, "
                "monthly_amount_fen, persons, start_month, status) "
                "SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'dibao', "
                "       :region || lpad((g % 20)::text, 3, '0'), 30000 + (g % 100) * 100, 1 + g % 4, :start, 'active' "
                "FROM generate_series(1, :n) g"
            ),
            {"region": region, "n": n, "start": start.first_day},
        )
        await conn.execute(
            text(
                "INSERT INTO payments.entitlements (beneficiary_id, "
                "from_month, monthly_amount_fen, event_id, event_type) "
                "SELECT id, start_month, monthly_amount_fen, gen_random_uuid(), 'approved' FROM payments.beneficiaries "
                "WHERE region_code LIKE :prefix"
            ),
            {"prefix": region + "%"},
        )
        await conn.execute(
            text(
                "INSERT INTO payments.owed (household_id, programme, member_id, region_code, case_id, persons, "
                "from_month, amount_fen, event_id, reason) "
                "SELECT household_id, programme, CAST(:nil AS uuid), region_code, case_id, persons, start_month, "
                "monthly_amount_fen, gen_random_uuid(), 'approval' FROM payments.beneficiaries "
                "WHERE region_code LIKE :prefix"
            ),
            {"prefix": region + "%", "nil": str(uuid.UUID(int=0))},
        )
        if not payees:
            return
        households = (
            (
                await conn.execute(
                    text("SELECT household_id FROM payments.beneficiaries WHERE region_code LIKE :prefix"),
                    {"prefix": region + "%"},
                )
            )
            .scalars()
            .all()
        )
        raw = (await conn.get_raw_connection()).driver_connection
        now = datetime.now(UTC)
        for i in range(0, len(households), 50_000):
            records = []
            for j, h in enumerate(households[i : i + 50_000], start=i):
                account = f"62170000{j:011d}"
                plain = json.dumps(
                    {"bank_name": "吴起农村商业银行", "account_holder": f"户主{j}", "account_number": account},
                    ensure_ascii=False,
                ).encode()
                key_id, sealed = keyring.seal(plain, payee_binding(h, now))
                records.append((h, key_id, sealed, account[-4:], now, uuid.uuid4()))
            await raw.copy_records_to_table(
                "payees",
                schema_name="payments",
                records=records,
                columns=["household_id", "key_id", "sealed", "account_last4", "changed_at", "event_id"],
            )
        await conn.execute(
            text(
                "INSERT INTO payments.current_payees (household_id, payee_id, changed_at) "
                "SELECT household_id, id, changed_at FROM payments.payees p WHERE household_id IN "
                "(SELECT household_id FROM payments.beneficiaries WHERE region_code LIKE :prefix)"
            ),
            {"prefix": region + "%"},
        )
