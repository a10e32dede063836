"""The request's unit of work on the real PostgreSQL: one commit, before the answer, all or nothing."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter
from sqlalchemy import insert, text

from services.monitoring.config import Settings
from services.monitoring.models import AlertRow, platform
from shared.app import UowDep, create_app

router = APIRouter()


@router.post("/half-done")
async def half_done(uow: UowDep) -> dict:
    marker = str(uuid.uuid4())
    await uow.session.execute(
        insert(platform.audit_log).values(
            actor="tester", roles=["test"], action="uow.partial", resource_type="t", resource_id=marker
        )
    )
    # Staged, not flushed: the NOT NULL violation only shows when the unit of work commits, after this returns.
    uow.session.add(AlertRow(id=uuid.uuid4(), region_code=None, alert_type="high_medical_cost"))
    return {"marker": marker}


async def test_a_failed_commit_is_never_answered_with_success_and_writes_nothing(infra, db):
    app = create_app(Settings(), platform, [router], title="uow test")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        r = await client.post("/half-done")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    async with db.connect() as conn:
        partial = (
            await conn.execute(text("SELECT count(*) FROM monitoring.audit_log WHERE action = 'uow.partial'"))
        ).scalar()
    assert partial == 0


async def test_events_written_set_based_carry_the_envelope_a_single_event_gets(infra, db):
    """`UnitOfWork.events_from_rows` builds the CloudEvent in SQL: the same JSON, attribute for attribute, as
    `DomainEvent.to_json` gives the same data (but for the event's own id and time)."""
    from datetime import datetime

    import orjson

    from services.payments.models import platform as payments
    from shared.context import correlation_id
    from shared.core.period import Period
    from shared.db import session_factory
    from shared.events.catalogue import PaymentPaid
    from shared.events.envelope import DomainEvent
    from shared.uow import UnitOfWork

    paid = PaymentPaid(
        payment_id=uuid.uuid4(),
        batch_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        programme="dibao",
        region_code="610626101201",
        period=Period(2026, 11),
        amount_fen=68_000,
    )
    token = correlation_id.set("corr-sql-envelope")
    try:
        async with UnitOfWork(session_factory(db), payments, "/services/payments") as uow:
            await uow.session.execute(
                text(
                    "CREATE TEMP TABLE settled ON COMMIT DROP AS SELECT CAST(:payment_id AS uuid) AS payment_id, "
                    "CAST(:batch_id AS uuid) AS batch_id, CAST(:case_id AS uuid) AS case_id, "
                    "CAST(:household_id AS uuid) AS household_id, CAST(:programme AS text) AS programme, "
                    "CAST(:region_code AS text) AS region_code, CAST(:period AS text) AS period, "
                    "CAST(:amount_fen AS bigint) AS amount_fen"
                ),
                paid.model_dump(mode="json"),
            )
            statement, params = uow.events_from_rows(
                PaymentPaid, "settled", key="r.household_id", region="r.region_code"
            )
            await uow.session.execute(text(statement + " AND r.amount_fen > 0"), params)
            row = (
                await uow.session.execute(
                    text("SELECT event_id, topic, key, type, payload FROM payments.outbox WHERE key = :k"),
                    {"k": str(paid.household_id)},
                )
            ).one()
            await uow.rollback()
    finally:
        correlation_id.reset(token)
    single = DomainEvent(
        type=row.type, key=str(paid.household_id), data=paid, region=paid.region_code, id=uuid.UUID(str(row.event_id))
    )
    expected = orjson.loads(single.to_json("/services/payments", "corr-sql-envelope"))
    built = dict(row.payload)
    assert datetime.fromisoformat(built.pop("time")) and expected.pop("time")
    assert built == expected
    assert (row.topic, row.key) == ("payments.disbursements", str(paid.household_id))


async def test_events_from_rows_each_get_their_own_id_however_many_rows(infra, db):
    """`UnitOfWork.events_from_rows` over 1,500 rows: 1,500 events, 1,500 ids (an id drawn once for the statement
    would break the outbox's unique event id, and a consumer's inbox would take one event for all)."""
    from services.payments.models import platform as payments
    from shared.db import session_factory
    from shared.events.catalogue import PayeeChanged
    from shared.uow import UnitOfWork

    households = [uuid.uuid4() for _ in range(1500)]
    async with UnitOfWork(session_factory(db), payments, "/services/payments") as uow:
        await uow.session.execute(
            text(
                "CREATE TEMP TABLE changed ON COMMIT DROP AS SELECT h AS household_id, "
                "'610626101201'::text AS region_code, NULL::text AS key_id, NULL::text AS sealed, "
                "NULL::text AS account_last4, timestamptz '2026-11-30 08:00+00' AS changed_at "
                "FROM unnest(CAST(:households AS uuid[])) AS u(h)"
            ),
            {"households": households},
        )
        statement, params = uow.events_from_rows(PayeeChanged, "changed", key="r.household_id", region="r.region_code")
        await uow.session.execute(text(statement), params)
        rows = (
            await uow.session.execute(
                text("SELECT event_id, key FROM payments.outbox WHERE key = ANY(:keys)"),
                {"keys": [str(h) for h in households]},
            )
        ).all()
        await uow.rollback()
    assert sorted(r.key for r in rows) == sorted(str(h) for h in households)
    assert len({r.event_id for r in rows}) == 1500


async def test_events_of_several_types_from_rows_come_run_after_run_each_with_its_own_id(infra, db):
    """`UnitOfWork.events_in_runs`: one statement, every event of the first run before any of the second, each run
    in its rows' order, a fresh id per event however many rows (the roll import writes thousands per chunk), each
    payload the JSON `DomainEvent.to_json` gives its data."""
    import orjson

    from services.payments.models import platform as payments
    from shared.context import correlation_id
    from shared.db import session_factory
    from shared.events.catalogue import PayeeChanged
    from shared.events.envelope import DomainEvent
    from shared.uow import UnitOfWork

    households = [uuid.uuid4() for _ in range(1500)]
    token = correlation_id.set("corr-sql-runs")
    try:
        async with UnitOfWork(session_factory(db), payments, "/services/payments") as uow:
            await uow.session.execute(
                text(
                    "CREATE TEMP TABLE people ON COMMIT DROP AS SELECT n AS seq, h AS household_id, "
                    "'610626101201'::text AS region_code, NULL::text AS key_id, NULL::text AS sealed, "
                    "NULL::text AS account_last4, timestamptz '2026-11-30 08:00+00' AS changed_at "
                    "FROM unnest(CAST(:households AS uuid[])) WITH ORDINALITY AS u(h, n)"
                ),
                {"households": households},
            )
            runs = [
                (PayeeChanged, "(SELECT * FROM people)", "r.household_id", "r.region_code"),
                (PayeeChanged, "(SELECT * FROM people WHERE seq % 2 = 0)", "r.household_id", "r.region_code"),
            ]
            statement, params = uow.events_in_runs(runs, order="r.seq")
            await uow.session.execute(text(statement), params)
            rows = (
                await uow.session.execute(
                    text("SELECT event_id, key, type, payload FROM payments.outbox WHERE key = ANY(:keys) ORDER BY id"),
                    {"keys": [str(h) for h in households]},
                )
            ).all()
            await uow.rollback()
    finally:
        correlation_id.reset(token)
    keys = [str(h) for h in households]
    assert [r.key for r in rows] == keys + keys[1::2]
    assert len({r.event_id for r in rows}) == len(rows) == 2250
    first = rows[0]
    data = PayeeChanged(household_id=households[0], region_code="610626101201", changed_at="2026-11-30T08:00:00Z")
    single = DomainEvent(
        type=first.type, key=keys[0], data=data, region="610626101201", id=uuid.UUID(str(first.event_id))
    )
    expected = orjson.loads(single.to_json("/services/payments", "corr-sql-runs"))
    built = dict(first.payload)
    assert built.pop("time") and expected.pop("time")
    assert PayeeChanged.model_validate(built.pop("data")) == PayeeChanged.model_validate(expected.pop("data"))
    assert built == expected
