"""The payee back-fill on the real database: households whose bank account was entered before intake announced
accounts (marked by migration 0010_intake_payee_backfill) each get one sealed payee.changed, in chunks, audited;
then nothing more."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text

from services.intake.config import Settings
from services.intake.households.service import announce_unannounced_payees
from services.intake.models import platform
from shared.db import session_factory
from shared.sealing import payee_binding
from shared.uow import UnitOfWork
from tests.helpers import household_body

ACCOUNTS = ("6217000011110001234", "6217000022220005678")


async def _register(api, tokens, account: str | None) -> str:
    body = household_body()
    if account:
        body["bank_account"] = {"bank_name": "吴起农村商业银行", "account_holder": "王秀英", "account_number": account}
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _payee_events(db, household_id: str) -> list[dict]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM intake.outbox WHERE key = :k AND type LIKE '%payee.changed.v1' ORDER BY id"),
            {"k": household_id},
        )
        return list(rows.scalars())


async def _announce(db, limit: int) -> int:
    async with UnitOfWork(session_factory(db), platform, "/services/intake") as uow:
        done = await announce_unannounced_payees(uow, Settings(), limit)
        await uow.commit()
        return done


async def test_each_account_entered_before_payee_events_is_announced_once(api, tokens, db) -> None:
    with_accounts = [await _register(api, tokens, account) for account in ACCOUNTS]
    without = await _register(api, tokens, None)
    ids = [*with_accounts, without]
    # The state an upgraded database is in: what migration 0010 does to the accounts already on file.
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE intake.households SET payee_backfill_pending = bank_account_sealed IS NOT NULL "
                "WHERE id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": ids},
        )
    before = {h: len(await _payee_events(db, h)) for h in ids}

    assert [await _announce(db, limit=1) for _ in range(3)] == [1, 1, 0]  # a chunk of one at a time, then none

    keyring = Settings().keyring()
    for household_id, account in zip(with_accounts, ACCOUNTS, strict=True):
        events = await _payee_events(db, household_id)
        assert len(events) == before[household_id] + 1
        data = events[-1]["data"]
        assert account not in json.dumps(events[-1])  # sealed, only the last four digits in clear
        assert data["account_last4"] == account[-4:]
        binding = payee_binding(household_id, datetime.fromisoformat(data["changed_at"]))
        opened = json.loads(keyring.open(data["key_id"], data["sealed"], binding))
        assert opened["account_number"] == account
    assert len(await _payee_events(db, without)) == before[without]
    async with db.connect() as conn:
        audited = await conn.execute(
            text(
                "SELECT household_id::text, actor FROM intake.audit_log WHERE action = 'payee.backfill' "
                "AND household_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": ids},
        )
        assert sorted(audited) == sorted((h, "intake") for h in with_accounts)
        pending = await conn.execute(
            text(
                "SELECT count(*) FROM intake.households WHERE payee_backfill_pending AND id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": ids},
        )
        assert pending.scalar_one() == 0
