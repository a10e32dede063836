"""The payee's bank account from intake to the bank file: sealed in the event (AES-GCM, key id), stored sealed,
opened only for the bank file; a change applies to batches created after it; no full number anywhere else."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text

from services.payments.batches import files
from services.payments.batches.repository import stream_file_rows
from services.payments.config import Settings
from shared.core.period import Period
from shared.events.catalogue import CaseApproved
from shared.sealing import Keyring, SealingError, new_key, payee_binding
from tests.conftest import bearer
from tests.helpers import household_body
from tests.payments_kit import PaymentsKit, bank_rows

P = Period(2026, 5)
FIRST, SECOND = "6217000099990001111", "6228480088880002222"


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db)


async def _intake_payee_events(db, household_id: str) -> list[dict]:
    async with db.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        "SELECT payload FROM intake.outbox WHERE key = :k AND type LIKE '%payee.changed.v1' ORDER BY id"
                    ),
                    {"k": household_id},
                )
            )
            .scalars()
            .all()
        )
    return list(rows)


async def _deliver(kit: PaymentsKit, payload: dict) -> None:
    value = json.dumps(payload).encode()
    await kit.consumer.process(
        [ConsumerRecord("intake.applications", 0, 0, 0, 0, None, value, None, 0, len(value), [])]
    )


async def test_account_travels_sealed_and_only_the_bank_file_opens_it(api, tokens, kit, db):
    body = household_body()
    body["bank_account"] = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": FIRST}
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid, region = r.json()["id"], r.json()["region_code"]
    [event] = await _intake_payee_events(db, hid)
    assert FIRST not in json.dumps(event)
    data = event["data"]
    assert data["key_id"] == "dev-1" and data["account_last4"] == "1111"
    version = datetime.fromisoformat(data["changed_at"])
    opened = json.loads(Settings().keyring().open(data["key_id"], data["sealed"], payee_binding(hid, version)))
    assert opened["account_number"] == FIRST
    with pytest.raises(SealingError):  # bound to its household: useless on another record
        Settings().keyring().open(data["key_id"], data["sealed"], payee_binding(uuid4(), version))
    with pytest.raises(SealingError):  # and to its version: useless as another version of the same household
        Settings().keyring().open(data["key_id"], data["sealed"], payee_binding(hid, version + timedelta(seconds=1)))
    await _deliver(kit, event)

    # The household goes on the roll; a batch is created with the first account, then the account changes.
    await kit.publish(
        CaseApproved(
            case_id=uuid4(),
            application_id=uuid4(),
            household_id=UUID(hid),
            programme="dibao",
            region_code=region,
            member_ids=[uuid4()],
            monthly_amount_fen=50_000,
            effective_month=P,
            decided_at="2026-04-20T08:00:00+00:00",
        ),
        UUID(hid),
    )
    pay = api("payments")
    first = (
        await pay.post("/batches", json={"region_code": region, "period": str(P)}, headers=tokens["finance"])
    ).json()
    await kit.build()
    r = await api("intake").patch(
        f"/households/{hid}",
        headers=tokens["clerk"],
        json={"bank_account": {"bank_name": "邮储银行", "account_holder": "李建国", "account_number": SECOND}},
    )
    assert r.status_code == 200, r.text
    await _deliver(kit, (await _intake_payee_events(db, hid))[-1])
    second = (
        await pay.post("/batches", json={"region_code": region, "period": str(P.next())}, headers=tokens["finance"])
    ).json()
    await kit.build()

    other = bearer("finance-wuqi-2", ["finance"], "610626")
    accounts = []
    for b in (first, second):
        assert (await pay.post(f"/batches/{b['id']}/approve", headers=other)).status_code == 200
        assert (await pay.post(f"/batches/{b['id']}/export", headers=tokens["finance"])).status_code == 200
        f = await pay.get(f"/batches/{b['id']}/bank-file", headers=tokens["finance"])
        accounts.append({r["account_number"] for r in bank_rows(f.content) if r["account_holder"] == "李建国"})
    assert FIRST in accounts[0] and SECOND not in accounts[0]  # created before the change: the old account
    assert SECOND in accounts[1] and FIRST not in accounts[1]

    # Nowhere else: not in payments' tables, events, audit, or any answer but the bank file.
    async with db.connect() as conn:
        dump = await conn.scalar(
            text(
                "SELECT concat((SELECT string_agg(t::text, '') FROM payments.payees t),"
                " (SELECT string_agg(o.payload::text, '') FROM payments.outbox o),"
                " (SELECT string_agg(coalesce(a.details::text, ''), '') FROM payments.audit_log a),"
                " (SELECT string_agg(l::text, '') FROM payments.payment_lines l))"
            )
        )
    assert FIRST not in dump and SECOND not in dump
    lines = await pay.get(f"/batches/{second['id']}/lines", headers=tokens["finance"])
    assert SECOND not in lines.text

    # Replay: the first account's ciphertext (and key id) copied over the current payee version. Its binding names
    # the first version's changed_at, so the bank file refuses to open it rather than pay the old account.
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE payments.payees p SET sealed = o.sealed, key_id = o.key_id FROM payments.payees o "
                "WHERE p.household_id = :h AND o.household_id = :h AND p.changed_at > o.changed_at"
            ),
            {"h": hid},
        )
    async with db.connect() as conn:
        rows = stream_file_rows(conn, UUID(second["id"]))
        with pytest.raises(files.FileNotWhole, match="cannot be opened"):  # a 409: no file rather than a wrong one
            await files.bank_file(rows, Settings().keyring(), "utf-8", (second["line_count"], second["total_fen"]))


def test_keys_rotate_old_values_still_open():
    old = Keyring.from_settings({"2026-01": new_key()}, "2026-01")
    kid, sealed = old.seal(b"6217", b"h")
    old_key = base64.urlsafe_b64encode(old.keys["2026-01"].secret).decode()
    rotated = Keyring.from_settings({"2026-01": old_key, "2026-11": new_key()}, "2026-11")
    assert rotated.open(kid, sealed, b"h") == b"6217"
    assert rotated.seal(b"x", b"h")[0] == "2026-11"
    with pytest.raises(SealingError):
        Keyring.from_settings({"2026-11": new_key()}, "2026-11").open(kid, sealed, b"h")
