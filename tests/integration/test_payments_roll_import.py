"""存量对象导入 of person-level cases, end to end on the real database: a file uploaded at intake (`POST /roll-imports`,
dry run priced by eligibility's real app, `…/commit`), intake's events through eligibility's consumer (`Case.imported`:
`case.approved` with the months the old system paid, then its `case.schedule_changed`), eligibility's events through
payments' consumer — in one fetch, as Kafka hands a household's consecutive events over, or one by one — then the
first regular batch and a death reported later.

A tester's finding: an imported 特困 person (张福贵, 分散, 全自理, 860.00 a month, approved 2022-09-01, the old system
paid through 2026-11) left 50 overpayments (2022-10 … 2026-11, paid 860.00, owed 0, `after_end`, closed
`restored` the moment they were recorded). The months the old system paid are paid, and owed: nothing is overpaid.

Figures worked by hand, fen per person and month:
- 张福贵: 86,000 owed from 2022-10 (the month after the approval); the old system paid 2022-10 … 2026-11 (50 months);
  December's regular batch pays 2026-12 alone, 86,000.
- 王桂英 (重度残疾人护理补贴, 肢体一级): 8,000 owed from 2023-06 (approved 2023-05-10); December pays 8,000.
- 张福贵 dies on 2026-10-20, reported afterwards: owed through October (a death's month is paid). November (the old
  system's 86,000) and December (the bank's 86,000) are owed nothing: 86,000 each overpaid, `after_end`; no month
  before November, and nothing of 王桂英's."""

from __future__ import annotations

import importlib.util
import itertools
import random
import uuid
from datetime import date
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text

from services.eligibility.models import platform as eligibility_platform
from services.eligibility.worker import HANDLERS as ELIGIBILITY_HANDLERS
from shared.consumer import EventConsumer
from shared.core.period import Period
from shared.db import session_factory
from shared.uow import UnitOfWork
from tests.helpers import report_death, walk
from tests.integration.test_intake_roll_import import (  # noqa: F401 (priced_by_eligibility: the autouse fixture)
    commit,
    dry_run,
    events,
    one_person,
    priced_by_eligibility,
    roll,
)
from tests.integration.test_payments_paid_elsewhere import _lines, _request, _send
from tests.payments_kit import PaymentsKit

DEC = Period(2026, 12)
REPO = Path(__file__).resolve().parents[2]
_offsets = itertools.count(20_000_000)


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.roll-import-tests")


@pytest.fixture(scope="module")
def eligibility(db) -> EventConsumer:
    return EventConsumer(
        name="eligibility.roll-import-payments-tests",
        topics=[],
        handlers=ELIGIBILITY_HANDLERS,
        uow_factory=lambda: UnitOfWork(session_factory(db), eligibility_platform, "/tests"),
        bootstrap="",
        producer=None,
    )  # type: ignore[arg-type]


async def _outbox(db, schema: str, households: list[str], after: int = 0) -> tuple[list[ConsumerRecord], int]:
    """The households' events a service's outbox holds (after row `after`), as the relay sends them: the payload's
    text byte for byte, keyed by household; and the last row's id."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT id, topic, key, payload::text FROM {schema}.outbox "
                    "WHERE key = ANY(:keys) AND id > :after ORDER BY id"
                ),
                {"keys": households, "after": after},
            )
        ).all()
    records = [
        ConsumerRecord(topic, 0, next(_offsets), 0, 0, key.encode(), raw.encode(), None, 0, len(raw), [])
        for _, topic, key, raw in rows
    ]
    return records, max((r[0] for r in rows), default=after)


def _zhang_fugui(village: str) -> list[dict]:
    return [
        {
            **one_person("ZF1", "特困", "19440405", "860.00", "分散")[0],
            "region_code": village,
            "name": "张福贵",
            "account_holder": "张福贵",
            "approved_on": "2022-09-01",
            "self_care": "全自理",
        }
    ]


def _wang_guiying(village: str) -> list[dict]:
    return [
        {
            **one_person("WG1", "重度残疾人护理补贴", "19700812", "80.00", "")[0],
            "region_code": village,
            "name": "王桂英",
            "account_holder": "王桂英",
            "approved_on": "2023-05-10",
            "disability_category": "肢体",
            "disability_grade": "1",
        }
    ]


# Villages of 长城镇 (610626105) no other test pays, one per test: its batch holds its file's persons only.
_VILLAGE_NUMBERS = iter(random.sample(range(300, 400), 100))


async def _overpayments(api, tokens, household: uuid.UUID) -> list[tuple]:
    found = await walk(api("payments"), "/overpayments", tokens["finance"], {"household_id": str(household)})
    return sorted(
        (o["member_id"], o["period"], o["paid_fen"], o["owed_fen"], o["amount_fen"], o["reason"], o["status"])
        for o in found
    )


@pytest.mark.parametrize("one_fetch", [True, False], ids=["one-fetch", "event-by-event"])
async def test_an_imported_person_level_case_is_paid_from_the_month_after_the_old_system_and_overpaid_nothing(
    api, tokens, kit, eligibility, db, one_fetch
):
    village = f"610626105{next(_VILLAGE_NUMBERS)}"
    validated = await dry_run(api, roll(_zhang_fugui(village), _wang_guiying(village)), paid_through="2026-11")
    assert validated["report"]["households_to_create"] == 2, validated
    await commit(api, validated["id"])
    imported = {e["programme"]: e for e in await events(db, validated["id"], "application.imported")}
    assert {p: (e["monthly_amount_fen"], e["paid_through"]) for p, e in imported.items()} == {
        "tekun": (86_000, "2026-11"),
        "disability_care": (8_000, "2026-11"),
    }
    zhang, wang = imported["tekun"], imported["disability_care"]
    households = [zhang["household_id"], wang["household_id"]]
    [zhang_member], [wang_member] = zhang["covered_member_ids"], wang["covered_member_ids"]

    # Intake's events: eligibility approves the imported cases; payments takes the payees.
    from_intake, _ = await _outbox(db, "intake", households)
    await eligibility.process(from_intake)
    await kit.consumer.process(from_intake)
    # Eligibility's events reach payments.
    decided, last = await _outbox(db, "eligibility", households)
    assert [r for r in decided if b"case.approved" in r.value] and [
        r for r in decided if b"schedule_changed" in r.value
    ]
    if one_fetch:
        await kit.consumer.process(decided)
    else:
        for record in decided:
            await kit.consumer.process([record])

    # The old system's months are paid and owed: no overpayment at all, open or closed.
    for household in households:
        assert await _overpayments(api, tokens, uuid.UUID(household)) == []
    async with db.connect() as conn:
        elsewhere = (
            await conn.execute(
                text(
                    "SELECT member_id, from_month, through_month, amount_fen FROM payments.paid_elsewhere "
                    "WHERE household_id = ANY(CAST(:hs AS uuid[])) ORDER BY amount_fen"
                ),
                {"hs": households},
            )
        ).all()
    assert [(str(m), str(Period.of(f)), str(Period.of(t)), fen) for m, f, t, fen in elsewhere] == [
        (wang_member, "2023-06", "2026-11", 8_000),
        (zhang_member, "2022-10", "2026-11", 86_000),
    ]

    # The first regular batch pays the month after the old system's last, at the file's amount, per person.
    december = await _request(api, tokens, kit, village, DEC)
    assert await _lines(api, tokens, december) == sorted(
        [(zhang_member, str(DEC), "regular", 86_000), (wang_member, str(DEC), "regular", 8_000)]
    )
    assert (december["line_count"], december["total_fen"]) == (2, 94_000)
    await _send(api, tokens, december)
    for household in households:
        assert await _overpayments(api, tokens, uuid.UUID(household)) == []

    # 张福贵 died on 2026-10-20, reported now: November (the old system's) and December (ours) were paid beyond it.
    await report_death(db, uuid.UUID(zhang["household_id"]), uuid.UUID(zhang_member), village, date(2026, 10, 20))
    stopped, _ = await _outbox(db, "eligibility", households, after=last)
    assert [r for r in stopped if b"schedule_changed" in r.value]
    await kit.consumer.process(stopped)
    assert await _overpayments(api, tokens, uuid.UUID(zhang["household_id"])) == [
        (zhang_member, "2026-11", 86_000, 0, 86_000, "after_end", "open"),
        (zhang_member, "2026-12", 86_000, 0, 86_000, "after_end", "open"),
    ]
    assert await _overpayments(api, tokens, uuid.UUID(wang["household_id"])) == []


async def test_the_migration_deletes_the_overpayments_left_for_the_old_systems_months_and_nothing_else(
    api, tokens, kit, eligibility, db
):
    """Migration 0020 (`PURGE`): the rows the bug left — months the old system paid, recorded overpaid whole while the
    case owed by its case id and closed `restored` by its first schedule (in the same fetch, or in the next) — are
    deleted, one audit record for the household; a month overpaid after the schedule (a death reported later, open)
    and one restored by a later decision stay."""
    village = f"610626105{next(_VILLAGE_NUMBERS)}"
    validated = await dry_run(api, roll(_zhang_fugui(village)), paid_through="2026-11")
    await commit(api, validated["id"])
    [zhang] = await events(db, validated["id"], "application.imported")
    household, [member] = zhang["household_id"], zhang["covered_member_ids"]
    from_intake, _ = await _outbox(db, "intake", [household])
    await eligibility.process(from_intake)
    await kit.consumer.process((await _outbox(db, "eligibility", [household]))[0])
    assert await _overpayments(api, tokens, uuid.UUID(household)) == []

    # As the bug left them (recorded with the approval, closed by the first schedule), and two it did not make.
    rows = [  # period, recorded at, closed at, status, closed_reason (relative to the schedule's arrival)
        ("2022-10-01", "s.received_at", "s.received_at", "closed", "restored"),  # one fetch: one transaction
        ("2022-11-01", "s.received_at - interval '1 second'", "s.received_at", "closed", "restored"),  # event by event
        ("2026-10-01", "s.received_at + interval '1 day'", "s.received_at + interval '2 days'", "closed", "restored"),
        ("2026-11-01", "s.received_at + interval '1 day'", "NULL", "open", None),
    ]
    path = REPO / "services/payments/migrations/versions/0020_payments_import_phantoms.py"
    spec = importlib.util.spec_from_file_location("phantom_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with db.begin() as conn:
        for period, recorded, closed, status, why in rows:
            await conn.execute(
                text(
                    "INSERT INTO payments.overpayments (beneficiary_id, case_id, household_id, programme, member_id, "
                    "region_code, period, paid_fen, owed_fen, amount_fen, reason, status, closed_reason, closed_by, "
                    f"closed_at, recorded_at) SELECT b.id, b.case_id, b.household_id, 'tekun', :m, b.region_code, "
                    f":p, 86000, 0, 86000, 'after_end', :status, :why, NULL, {closed}, {recorded} "
                    "FROM payments.beneficiaries b JOIN payments.scheduled_cases s ON s.case_id = b.case_id "
                    "WHERE b.household_id = :h"
                ),
                {"m": member, "p": date.fromisoformat(period), "status": status, "why": why, "h": household},
            )
        await conn.execute(text(migration.PURGE))
        audited = (
            (
                await conn.execute(
                    text(
                        "SELECT details->>'count' FROM payments.audit_log WHERE action = 'overpayment.purge' "
                        "AND household_id = :h"
                    ),
                    {"h": household},
                )
            )
            .scalars()
            .all()
        )
    assert [(o[1], o[6]) for o in await _overpayments(api, tokens, uuid.UUID(household))] == [
        ("2026-10", "closed"),
        ("2026-11", "open"),
    ]
    assert audited == ["2"]
