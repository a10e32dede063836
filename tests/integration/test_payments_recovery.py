"""多发追回 against real PostgreSQL: a death recorded after a later month's batch was built never pays a dead person
(lines not yet at the bank are cancelled, the batch is approved again on its new envelope), and money already at the
bank for months not owed — after a late stop, or an amount lowered backdated — is recorded for finance to recover."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.core.period import Period
from shared.events.catalogue import CaseTerminated
from tests.conftest import bearer
from tests.helpers import walk
from tests.payments_kit import PaymentsKit, bank_rows, return_file, village

P = Period(2026, 4)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db, "payments.recovery-tests")


async def _built(api, tokens, kit: PaymentsKit, region: str, period: Period, kind: str = "regular") -> dict:
    pay = api("payments")
    r = await pay.post(
        "/batches", json={"region_code": region, "period": str(period), "kind": kind}, headers=tokens["finance"]
    )
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return (await pay.get(f"/batches/{r.json()['id']}", headers=tokens["finance"])).json()


async def _approved(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    b = await _built(api, tokens, kit, region, period, kind)
    r = await api("payments").post(f"/batches/{b['id']}/approve", headers=OTHER_FINANCE)
    assert r.status_code == 200, r.text
    return r.json()


async def _paid(api, tokens, kit, region: str, period: Period, kind: str = "regular") -> dict:
    pay, b = api("payments"), await _approved(api, tokens, kit, region, period, kind)
    assert (await pay.post(f"/batches/{b['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{b['id']}/bank-file", headers=tokens["finance"])).content)
    r = await pay.post(
        f"/batches/{b['id']}/returns",
        headers=tokens["finance"],
        files={"file": ("r.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return b


async def _overpayments(api, tokens, region: str) -> list[dict]:
    return await walk(api("payments"), "/overpayments", tokens["finance"], {"status": "open", "region": region})


async def test_a_death_recorded_late_cancels_unexported_lines_and_records_what_the_bank_paid(api, tokens, kit, db):
    region = village()
    dead_case, dead_hh = await kit.approve(region, 50_000, P)
    await kit.approve(region, 30_000, P)  # a neighbour, paid as before
    await _paid(api, tokens, kit, region, P)
    await _paid(api, tokens, kit, region, P.next())
    may = await _approved(api, tokens, kit, region, P.plus(2))
    assert (may["status"], may["line_count"], may["total_fen"]) == ("approved", 2, 80_000)

    # Died in April; reported after the May batch was paid and June's approved.
    await kit.terminate(dead_case, dead_hh, region, P, "death")

    pay = api("payments")
    june = (await pay.get(f"/batches/{may['id']}", headers=tokens["finance"])).json()
    assert (june["status"], june["approved_by"], june["line_count"], june["total_fen"]) == ("built", None, 1, 30_000)
    lines = await walk(pay, f"/batches/{may['id']}/lines", tokens["finance"])
    assert sorted((x["household_id"] == str(dead_hh), x["status"]) for x in lines) == [
        (False, "pending"),
        (True, "cancelled"),
    ]
    async with db.connect() as conn:
        amended = (
            (
                await conn.execute(
                    text(
                        "SELECT payload->'data' FROM payments.outbox WHERE type LIKE '%batch.amended.v1' AND key = :k"
                    ),
                    {"k": may["id"]},
                )
            )
            .scalars()
            .all()
        )
        audited = await conn.scalar(
            text("SELECT count(*) FROM payments.audit_log WHERE action = 'batch.amend' AND resource_id = :k"),
            {"k": may["id"]},
        )
    assert len(amended) == 1 and audited == 1
    assert (
        amended[0]["needs_approval"],
        amended[0]["cancelled_count"],
        amended[0]["cancelled_fen"],
        amended[0]["total_fen"],
    ) == (True, 1, 50_000, 30_000)
    # Export waits for a new approval, and then the bank file pays only the living.
    assert (await pay.post(f"/batches/{may['id']}/export", headers=tokens["finance"])).status_code == 409
    assert (await pay.post(f"/batches/{may['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{may['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{may['id']}/bank-file", headers=tokens["finance"])).content)
    assert [r["amount_yuan"] for r in rows] == ["300.00"]

    # May went to the bank for a man who died in April: 500 yuan to recover; April was owed.
    [owed_back] = await _overpayments(api, tokens, region)
    assert (
        owed_back["household_id"],
        owed_back["period"],
        owed_back["paid_fen"],
        owed_back["owed_fen"],
        owed_back["amount_fen"],
        owed_back["reason"],
    ) == (str(dead_hh), str(P.next()), 50_000, 0, 50_000, "after_end")
    await kit.replay()  # the same decisions again: nothing recorded twice
    assert len(await _overpayments(api, tokens, region)) == 1
    assert (await _built(api, tokens, kit, region, P.plus(3)))["total_fen"] == 30_000


async def test_an_amount_lowered_backdated_is_recorded_for_recovery_not_ignored(api, tokens, kit):
    region = village()
    case_id, hh = await kit.approve(region, 45_000, P)
    await _paid(api, tokens, kit, region, P)
    await _paid(api, tokens, kit, region, P.next())
    # Income found higher, decided in June, effective from May: 450 → 400 a month.
    await kit.change(case_id, hh, region, 45_000, 40_000, P.next())
    sup = await _built(api, tokens, kit, region, P.plus(2), "supplement")
    assert sup["line_count"] == 0
    [owed_back] = await _overpayments(api, tokens, region)
    assert (
        owed_back["period"],
        owed_back["paid_fen"],
        owed_back["owed_fen"],
        owed_back["amount_fen"],
        owed_back["reason"],
    ) == (str(P.next()), 45_000, 40_000, 5_000, "reduced")
    # Lowered again (to 380): only the further 20 yuan is added; a supplement run again records nothing new.
    await kit.change(case_id, hh, region, 40_000, 38_000, P.next())
    await _built(api, tokens, kit, region, P.plus(2), "supplement")
    await _built(api, tokens, kit, region, P.plus(2), "supplement")
    assert sorted(o["amount_fen"] for o in await _overpayments(api, tokens, region)) == [2_000, 5_000]


async def test_a_run_of_stops_amends_a_built_batch_at_once(api, tokens, kit, db):
    """Set-based: two stops handed to the consumer at once take both people's months after their last month out of
    the batch; a batch not yet approved stays `built` (nothing to approve again) with its new envelope, and says so in
    its event."""
    region = village()
    approved = [await kit.approve(region, fen, P) for fen in (50_000, 40_000, 30_000)]
    may = await _built(api, tokens, kit, region, P.next())
    # April (arrears) and May for each of the three.
    assert (may["line_count"], may["total_fen"]) == (6, 2 * 120_000)
    stops = [
        kit.record(
            CaseTerminated(case_id=c, household_id=h, programme="dibao", region_code=region, reason=why, last_month=P),
            h,
        )
        for (c, h), why in zip(approved[:2], ("death", "moved"), strict=False)
    ]
    await kit.consumer.process(stops)
    after = (await api("payments").get(f"/batches/{may['id']}", headers=tokens["finance"])).json()
    # Their Aprils stay (owed: the last month is paid); their Mays are gone.
    assert (after["status"], after["line_count"], after["total_fen"]) == ("built", 4, 120_000 + 30_000)
    async with db.connect() as conn:
        [amended] = (
            (
                await conn.execute(
                    text(
                        "SELECT payload->'data' FROM payments.outbox WHERE type LIKE '%batch.amended.v1' AND key = :k"
                    ),
                    {"k": may["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert (amended["needs_approval"], amended["cancelled_count"], amended["cancelled_fen"], amended["reason"]) == (
        False,
        2,
        90_000,
        "death, moved",
    )
    assert await _overpayments(api, tokens, region) == []  # nothing had gone to the bank
