"""Upgrades in place keep every fact: the database the 2026-11-24 release (v2026.11.24, bc1077c) left behind,
upgraded to this code's migrations and run by this code's eight processes, pays its households.

The fixture (fixtures/release-v2026.11.24.sql, made by fixtures/make_release_fixture.py from that release's own
code and HTTP APIs): four households of 吴起县 at intake, three with a bank account on file, four cases, two
低保 cases approved by the county and on payments' roll from 2026-12. That release had no payee.changed event,
so payments never heard of those accounts: upgraded as it was, the first batch failed both lines with "no bank
account on file" (the reported sequence). Its own Kafka here, so its workers and the suite's stack never
consume each other's events."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
from infra import Kafka, _pg_bindir, free_port, kafka_libs  # deploy/local/infra.py
from sqlalchemy import text
from stack import SERVICES, Stack  # deploy/local/stack.py

from shared.db import create_engine
from shared.migrations import SERVICES as SCHEMAS
from shared.migrations import upgrade
from tests.conftest import bearer, wait_for
from tests.payments_kit import bank_rows, return_file

FIXTURE = Path(__file__).parent / "fixtures" / "release-v2026.11.24.sql"
DATABASE = "release_v2026_11_24"
FINANCE = bearer("finance-wuqi", ["finance"], "610626")
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")
# The two approved households, as the front desk entered them in the old release, and what each is owed a month
# (610626.yaml, rural 低保 by tier on per-capita income): 刘志明's two members with 300 yuan of farm work a month
# are 150 yuan each, below 200: tier 450 yuan a person, 900 yuan; 张秀兰 alone without income: tier 500 yuan.
PAID = {
    "6228480000000001111": ("刘志明", "吴起农村商业银行", 90_000),
    "6228480000000002222": ("张秀兰", "吴起农村商业银行", 50_000),
}
UNPAID_ACCOUNT = "6228480000000003333"  # 马占山: account on file, 特困 case still open
FIRST_MONTH = "2026-12"  # the month after the county's approval on 2026-11-29


def _load_fixture(port: int) -> None:
    psql = [str(_pg_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q"]
    subprocess.run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"], check=True, capture_output=True)
    subprocess.run(
        [*psql, "-v", "ON_ERROR_STOP=1", "-d", DATABASE, "-f", str(FIXTURE)], check=True, capture_output=True
    )


async def _rows(engine, sql: str) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql))]


async def test_the_first_batch_after_upgrading_a_2026_11_24_database_pays_its_households(
    infra, tmp_path_factory
) -> None:
    await asyncio.to_thread(_load_fixture, infra.pg.port)
    url = f"{infra.database_url.rsplit('/', 1)[0]}/{DATABASE}"
    engine = create_engine(url, 2)
    kafka = Kafka(tmp_path_factory.mktemp("upgrade-kafka"), free_port(), free_port(), libs=kafka_libs())
    stack = None
    try:
        # What the old release left: the roll, the accounts at intake, and no payee at payments.
        roll = await _rows(engine, "SELECT monthly_amount_fen, start_month::text, status FROM payments.beneficiaries")
        assert sorted(roll) == [(50_000, "2026-12-01", "active"), (90_000, "2026-12-01", "active")]
        accounts = dict(
            await _rows(
                engine,
                "SELECT bank_account_number, id FROM intake.households WHERE bank_account_number IS NOT NULL",
            )
        )
        assert set(accounts) == {*PAID, UNPAID_ACCOUNT}
        assert await _rows(engine, "SELECT to_regclass('payments.current_payees')") == [(None,)]
        cases = await _rows(engine, "SELECT status, count(*) FROM eligibility.cases GROUP BY status ORDER BY 1")

        for service in SCHEMAS:  # as the migration Jobs do, in their own threads (Alembic runs its own loop)
            await asyncio.to_thread(upgrade, service, url)
        assert await _rows(engine, "SELECT status, count(*) FROM eligibility.cases GROUP BY status ORDER BY 1") == cases
        assert ("approved", 2) in cases

        await asyncio.to_thread(kafka.start)
        env = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "ENVIRONMENT": "test",
            "RELAY_POLL_SECONDS": "0.5",
        }
        stack = Stack(
            env, ports={s: free_port() for s in SERVICES}, log_dir=tmp_path_factory.mktemp("upgrade-service-logs")
        )
        stack.start_all()
        await stack.wait_healthy()
        async with httpx.AsyncClient(timeout=30) as http:
            for service in SERVICES:
                ready = await http.get(stack.url(service) + "/readyz")
                assert ready.status_code == 200 and ready.json()["checks"]["schema"] is True, ready.text

            # The intake worker announces the accounts payments never heard of, and payments takes them.
            household_ids = ", ".join(f"'{h}'" for h in accounts.values())
            payees = (
                "SELECT count(*) FROM payments.current_payees "
                f"WHERE payee_id IS NOT NULL AND household_id IN ({household_ids})"
            )

            async def announced() -> bool:
                return (await _rows(engine, payees))[0][0] == len(accounts)

            await wait_for(announced, timeout=60)

            payments = stack.url("payments")
            r = await http.post(
                f"{payments}/batches",
                json={"region_code": "610626", "period": FIRST_MONTH, "kind": "regular"},
                headers=FINANCE,
            )
            assert r.status_code in (200, 202), r.text
            batch_id = r.json()["id"]

            async def built() -> dict | None:
                b = (await http.get(f"{payments}/batches/{batch_id}", headers=FINANCE)).json()
                return b if b["status"] == "built" else None

            batch = await wait_for(built)
            assert (batch["line_count"], batch["total_fen"]) == (2, 90_000 + 50_000)
            # Per month: 2 persons x 450 yuan for 刘志明's household, 1 x 500 for 张秀兰's; no line failed.
            # (Not the lines' `persons`: the 2026-11-24 release kept no head count on its roll, and payments'
            # migration 0002 gave its rows 1; eligibility alone still knows it.)
            lines = await _rows(
                engine,
                "SELECT h.bank_account_last4, l.amount_fen, l.status, l.reason FROM payments.payment_lines l "
                f"JOIN intake.households h ON h.id = l.household_id WHERE l.batch_id = '{batch_id}'",
            )
            assert sorted(lines) == [  # the accounts are sealed at intake now: their last four digits
                ("1111", 2 * 45_000, "pending", None),
                ("2222", 1 * 50_000, "pending", None),
            ]
            assert (await http.post(f"{payments}/batches/{batch_id}/approve", headers=OTHER_FINANCE)).status_code == 200
            assert (await http.post(f"{payments}/batches/{batch_id}/export", headers=FINANCE)).status_code == 200
            file = await http.get(f"{payments}/batches/{batch_id}/bank-file", headers=FINANCE)
            rows = bank_rows(file.content)
            # Each household paid its month to the account entered at the old release's front desk.
            assert {r["account_number"]: (r["account_holder"], r["bank_name"], r["amount_yuan"]) for r in rows} == {
                number: (holder, bank, f"{fen // 100}.{fen % 100:02d}") for number, (holder, bank, fen) in PAID.items()
            }
            assert {r["period"] for r in rows} == {FIRST_MONTH}
            returned = return_file([(r["payment_id"], r["amount_yuan"], "paid", "") for r in rows])
            r = await http.post(
                f"{payments}/batches/{batch_id}/returns", headers=FINANCE, files={"file": ("return.csv", returned)}
            )
            assert r.status_code == 200, r.text
            done = (await http.get(f"{payments}/batches/{batch_id}", headers=FINANCE)).json()
            assert done["status"] == "reconciled"
            figures = done["reconciliation"]
            assert (figures["paid_count"], figures["paid_fen"], figures["failed_count"]) == (2, 140_000, 0)
    finally:
        if stack is not None:
            stack.stop_all()
        await asyncio.to_thread(kafka.kill)
        await engine.dispose()
