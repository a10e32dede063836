"""Secrets at rest: members' ID numbers and households' bank accounts sealed in intake's tables, bound to their row,
field and key (and the account to its version); opened only for the economic check, audited; the migration that
seals rows stored in clear; the re-sealing job through a key rotation and a switch to the 国密 profile."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import pytest
from alembic.command import downgrade
from sqlalchemy import text

from services.intake.config import Settings
from services.intake.households.repository import HouseholdRepository
from services.intake.models import platform
from services.intake.reseal.service import reseal
from services.intake.sealed import account_binding, id_number_binding, open_account, open_id_number
from services.monitoring.feeds.kinds import RowContext
from shared.core.identity import id_fingerprint, mask_resident_id
from shared.core.period import china_today
from shared.core.regions import RegionTable
from shared.db import create_engine, session_factory
from shared.migrations import alembic_config, upgrade
from shared.sealing import DEV_SEALING_KEYS, Keyring, SealingError, new_key, payee_binding
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import household_body, problem, resident_id

ACCOUNT = "6228480123456789012"
PII_KEY = Settings().pii_hmac_key.encode()


async def _row_text(db, table: str, where: str, params: dict) -> str:
    async with db.connect() as conn:
        return (
            await conn.execute(
                text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t WHERE {where}"), params
            )
        ).scalar_one()


async def test_numbers_are_sealed_at_rest_and_bound_to_their_row(api, tokens, db):
    body = household_body(members=3)
    body["bank_account"] = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": ACCOUNT}
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    numbers = [m["id_number"] for m in body["members"]]
    stored = await _row_text(db, "intake.members", "household_id = :h", {"h": hid})
    stored += await _row_text(db, "intake.households", "id = :h", {"h": hid})
    assert not any(n in stored for n in numbers) and ACCOUNT not in stored
    assert all(mask_resident_id(n) in stored for n in numbers)  # what reads show stays in clear

    ring = Settings().keyring()
    async with db.connect() as conn:
        members = (
            await conn.execute(
                text("SELECT id, id_number_key_id, id_number_sealed FROM intake.members WHERE household_id = :h"),
                {"h": hid},
            )
        ).all()
        account = (
            await conn.execute(
                text(
                    "SELECT bank_account_key_id, bank_account_sealed, bank_account_changed_at "
                    "FROM intake.households WHERE id = :h"
                ),
                {"h": hid},
            )
        ).one()
    assert sorted(open_id_number(ring, m.id, m.id_number_key_id, m.id_number_sealed) for m in members) == sorted(
        numbers
    )
    assert open_account(ring, uuid.UUID(hid), account.bank_account_changed_at, *account[:2]) == ACCOUNT
    # Copied onto another member, the same ciphertext does not open: it names its own row.
    first, second = members[0], members[1]
    with pytest.raises(SealingError):
        ring.open(first.id_number_key_id, first.id_number_sealed, id_number_binding(second.id))
    # An account is bound to its version: an older one replayed into the row does not open as the current one.
    with pytest.raises(SealingError):
        ring.open(account[0], account[1], account_binding(hid, datetime(2020, 1, 1, tzinfo=UTC)))


async def test_the_economic_check_alone_opens_id_numbers_and_each_opening_is_audited(api, tokens, db):
    intake = api("intake")
    body = household_body(members=2)
    hid = (await intake.post("/households", json=body, headers=tokens["clerk"])).json()["id"]
    url = f"/households/{hid}/economic-check-identities"
    problem(await intake.get(url, headers=tokens["reviewer"]), 409, "consent_signed")
    assert (await intake.get(url, headers=tokens["clerk"])).status_code == 403  # the front desk does not open them
    r = await intake.post(
        "/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert r.status_code == 201, r.text
    r = await intake.get(url, headers=tokens["reviewer"])
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", r.text
    assert sorted(m["id_number"] for m in r.json()) == sorted(m["id_number"] for m in body["members"])
    assert (await intake.get(url, headers=tokens["clerk_other_township"])).status_code in (403, 404)
    # 三员分立: a system administrator, national or of the county, does not open ID numbers; the county approver does.
    for admin in (tokens["admin"], bearer("admin-wuqi", ["admin"], "610626")):
        assert (await intake.get(url, headers=admin)).status_code == 403
    assert (await intake.get(url, headers=tokens["approver"])).status_code == 200
    async with db.connect() as conn:
        opened = (
            await conn.execute(
                text(
                    "SELECT actor, resource_id, details FROM intake.audit_log "
                    "WHERE household_id = :h AND action = 'member.id_number.open'"
                ),
                {"h": hid},
            )
        ).all()
    assert sorted(o.resource_id for o in opened) == sorted(2 * [m["member_id"] for m in r.json()])
    assert {o.actor for o in opened} == {"reviewer-tiebian", "approver-wuqi"}
    assert all(o.details["purpose"] == "economic_check" for o in opened)
    # The household read still shows the masked numbers only.
    read = await intake.get(f"/households/{hid}", headers=tokens["reviewer"])
    assert not any(m["id_number"] in read.text for m in body["members"])


# --- the migration and the re-sealing job, on a database of their own ------------------------------------------


BEFORE_SEALING = "0003_intake_application_drafts"


async def _database_in_clear(infra, db):
    """A database migrated to the revision before sealing, with rows stored in clear as they were then."""
    name = f"sealing_{uuid.uuid4().hex[:8]}"
    async with db.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = infra.database_url.rsplit("/", 1)[0] + "/" + name
    await asyncio.to_thread(upgrade, "intake", url, BEFORE_SEALING)
    engine = create_engine(url, 3)
    people: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    accounts: dict[uuid.UUID, str] = {}
    async with engine.begin() as conn:
        for h in range(4):
            hid = uuid.uuid4()
            account = f"62170000{h:011d}" if h != 3 else None
            await conn.execute(
                text(
                    "INSERT INTO intake.households (id, region_code, hukou_type, address, incomes, properties, "
                    "rigid_expenses, active, bank_name, bank_account_holder, bank_account_number) VALUES "
                    "(:id, '610626101201', 'rural', '吴起县铁边城镇某村', '[]', '[]', '[]', true, :bank, :holder, :acc)"
                ),
                {
                    "id": hid,
                    "bank": "邮储银行" if account else None,
                    "holder": "李建国" if account else None,
                    "acc": account,
                },
            )
            if account:
                accounts[hid] = account
            for _ in range(3):
                mid, number = uuid.uuid4(), resident_id("19700101")
                people[mid] = (hid, number)
                await conn.execute(
                    text(
                        "INSERT INTO intake.members (id, household_id, name, id_number, id_fingerprint, active, "
                        "birth_date, sex, relation, facts) VALUES (:id, :h, '李某', :n, :fp, true, :b, 'male', "
                        "'head', '{}')"
                    ),
                    {"id": mid, "h": hid, "n": number, "fp": id_fingerprint(number, PII_KEY), "b": date(1970, 1, 1)},
                )
    await asyncio.to_thread(upgrade, "intake", url, "head")
    return url, engine, people, accounts


@pytest.fixture(scope="module")
async def legacy(infra, db):
    url, engine, people, accounts = await _database_in_clear(infra, db)
    yield url, engine, people, accounts
    await engine.dispose()


async def test_the_migration_downgrades_to_the_clear_columns(infra, db):
    url, engine, people, accounts = await _database_in_clear(infra, db)
    try:
        await asyncio.to_thread(downgrade, alembic_config("intake", url), BEFORE_SEALING)
        async with engine.connect() as conn:
            members = dict((await conn.execute(text("SELECT id, id_number FROM intake.members"))).all())
            stored = dict(
                (
                    await conn.execute(
                        text("SELECT id, bank_account_number FROM intake.households WHERE bank_account_number <> ''")
                    )
                ).all()
            )
        assert members == {mid: n for mid, (_h, n) in people.items()} and stored == accounts
    finally:
        await engine.dispose()


async def _members(engine) -> list:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT id, household_id, id_number_key_id, id_number_sealed, id_number_masked, id_fingerprint, "
                    "fingerprint_profile FROM intake.members ORDER BY id"
                )
            )
        ).all()


async def _accounts(engine) -> list:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT id, bank_account_key_id, bank_account_sealed, bank_account_changed_at, bank_account_last4 "
                    "FROM intake.households WHERE bank_account_sealed IS NOT NULL ORDER BY id"
                )
            )
        ).all()


def _uow_factory(engine):
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions, platform, "/services/intake")


async def test_the_migration_sealed_the_clear_rows_and_dropped_the_clear_columns(legacy):
    _url, engine, people, accounts = legacy
    async with engine.connect() as conn:
        columns = set(
            (
                await conn.execute(
                    text("SELECT column_name FROM information_schema.columns WHERE table_schema = 'intake'")
                )
            ).scalars()
        )
    assert "id_number" not in columns and "bank_account_number" not in columns
    ring = Settings().keyring()
    members = await _members(engine)
    assert len(members) == len(people) == 12
    for m in members:
        number = people[m.id][1]
        assert open_id_number(ring, m.id, m.id_number_key_id, m.id_number_sealed) == number
        assert m.id_number_masked == mask_resident_id(number) and m.id_fingerprint == id_fingerprint(number, PII_KEY)
        assert m.fingerprint_profile == "standard" and m.id_number_key_id == "dev-1"
    stored = await _accounts(engine)
    assert {a.id: open_account(ring, a.id, a.bank_account_changed_at, *a[1:3]) for a in stored} == accounts
    assert all(a.bank_account_last4 == accounts[a.id][-4:] for a in stored)


async def test_resealing_through_a_key_rotation_and_a_switch_to_the_gm_profile(legacy):
    url, engine, people, accounts = legacy
    rotated_key = new_key()
    rotated = Settings(
        database_url=url, sealing_keys={**DEV_SEALING_KEYS, "2027-01": rotated_key}, sealing_key_id="2027-01"
    )
    # Key rotation, interrupted after one chunk (2 households) and resumed: every value ends under the new key, once.
    first = await reseal(_uow_factory(engine), rotated, chunk=2, max_chunks=1)
    assert (first.members, first.accounts, first.chunks) == (6, 0, 1)
    assert sum(m.id_number_key_id == "2027-01" for m in await _members(engine)) == 6
    rest = await reseal(_uow_factory(engine), rotated, chunk=2)
    assert (rest.members, rest.accounts, rest.fingerprints) == (6, 3, 0)
    assert any("of 12 re-sealed" in line for line in first.log + rest.log)
    only_new = Keyring.from_settings({"2027-01": rotated_key}, "2027-01")  # the old key can be retired now
    members = await _members(engine)
    assert {m.id: open_id_number(only_new, m.id, m.id_number_key_id, m.id_number_sealed) for m in members} == {
        mid: n for mid, (_h, n) in people.items()
    }
    assert {
        a.id: open_account(only_new, a.id, a.bank_account_changed_at, *a[1:3]) for a in await _accounts(engine)
    } == (accounts)
    async with engine.connect() as conn:
        audited = (
            await conn.execute(
                text("SELECT count(*) FROM intake.audit_log WHERE actor = 'intake.reseal' AND action LIKE '%reseal'")
            )
        ).scalar_one()
    assert audited == 12 + 3

    # The 国密 profile: SM4-GCM seals, HMAC-SM3 fingerprints. The old AES key stays until the run is done.
    gm = Settings(
        database_url=url,
        crypto_profile="gm",
        sealing_keys={"2027-01": rotated_key, "gm-2027-02": new_key("gm")},
        sealing_key_id="gm-2027-02",
    )
    switched = await reseal(_uow_factory(engine), gm, chunk=4, announce_payees=True)
    assert (switched.members, switched.fingerprints, switched.households_announced) == (12, 12, 4)
    assert switched.payees_announced == 3
    ring = gm.keyring()
    assert ring.algorithm() == "SM4-GCM"
    sm3 = {mid: hmac.new(PII_KEY, n.encode(), "sm3").hexdigest() for mid, (_h, n) in people.items()}
    members = await _members(engine)
    for m in members:
        assert m.id_number_key_id == "gm-2027-02" and m.fingerprint_profile == "gm"
        assert open_id_number(ring, m.id, m.id_number_key_id, m.id_number_sealed) == people[m.id][1]
        assert m.id_fingerprint == sm3[m.id] != id_fingerprint(people[m.id][1], PII_KEY)
    async with session_factory(engine)() as session:  # a lookup under the new profile finds the person
        some = next(iter(people.values()))
        found = await HouseholdRepository(session).household_of_person(id_fingerprint(some[1], PII_KEY, "gm"))
        assert found is not None and found.id == some[0]

    # Every household was announced again with its new identities, as monitoring fingerprints under gm.
    monitoring = RowContext(RegionTable.load(), "610626", china_today(), PII_KEY, "gm")
    async with engine.connect() as conn:
        events = [e for (e,) in await conn.execute(text("SELECT payload FROM intake.outbox ORDER BY id"))]
    updated = [e["data"] for e in events if e["type"].endswith("household.updated.v1")]
    assert len(updated) == 4
    for data in updated:
        for identity in data["identities"]:
            number = people[uuid.UUID(identity["member_id"])][1]
            assert identity["id_fingerprint"] == monitoring.fingerprint(number) == sm3[uuid.UUID(identity["member_id"])]
    # And every account to payments, sealed under SM4 and bound to the new payee version.
    payees = [e["data"] for e in events if e["type"].endswith("payee.changed.v1")]
    assert len(payees) == 3
    stored = {a.id: a for a in await _accounts(engine)}
    for p in payees:
        hid = uuid.UUID(p["household_id"])
        changed = datetime.fromisoformat(p["changed_at"])
        opened = json.loads(ring.open(p["key_id"], p["sealed"], payee_binding(hid, changed)))
        assert opened["account_number"] == accounts[hid] and p["key_id"] == "gm-2027-02"
        assert stored[hid].bank_account_changed_at == changed  # intake's own copy is bound to the same version

    # The CLI: another rotation within the profile, one household per chunk, progress on stderr.
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "INTAKE_DATABASE_URL": url,
        "INTAKE_CRYPTO_PROFILE": "gm",
        "INTAKE_SEALING_KEYS": json.dumps({**gm.sealing_keys, "gm-2027-03": new_key("gm")}),
        "INTAKE_SEALING_KEY_ID": "gm-2027-03",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.intake.reseal", "--chunk", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "members: 3 of 12 re-sealed" in done.stderr and "members: 12 of 12 re-sealed" in done.stderr
    assert {m.id_number_key_id for m in await _members(engine)} == {"gm-2027-03"}
