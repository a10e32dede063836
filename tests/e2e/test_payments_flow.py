"""Payments with every service as a process, on real PostgreSQL and Kafka.

- Done-when: an approved 吴起县 dibao case is on the roll, paid in the next monthly batch, in the bank file and the
  roster, reconciled from a bank return, shown paid at intake's front desk, back-paid after a standard rise decided
  two months late (an admin posts it to eligibility, whose recompute announces the backdated amount), and counted by
  the statistics.
- The batch worker SIGKILLed halfway through a build: after restart the batch completes, nothing missing, nothing
  doubled."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import timedelta

import openpyxl
from sqlalchemy import text

from shared.core.period import Period, china_today
from tests.conftest import bearer, wait_for
from tests.helpers import household_body
from tests.payments_kit import bank_rows, return_file, seed_roll

# As long ago as intake accepts (90 days): the case's first month and the next are past when the rise is decided.
RECEIVED = china_today() - timedelta(days=89)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")
ACCOUNT = "6217000066660009999"
# 分类施保 for a seriously ill member (重病患者): 0 in 610626.yaml; only households with such a member read it, so the
# rise below touches this test's case and not the other tests' 吴起县 cases.
ILLNESS_KEY = "dibao.classified.serious_illness_fen"


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


async def _approved_case(stack, http, tokens) -> tuple[dict, dict]:
    intake, eligibility = stack.url("intake"), stack.url("eligibility")
    body = household_body(region_code=f"610626101{random.randint(300, 399)}", members=3)  # a village of its own
    body["members"][0]["serious_illness"] = True
    body["bank_account"] = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": ACCOUNT}
    r = await http.post(f"{intake}/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    household = r.json()
    r = await http.post(
        f"{intake}/applications",
        json={
            "household_id": household["id"],
            "programme": "dibao",
            "consent_signed": True,
            "received_on": RECEIVED.isoformat(),
        },
        headers=tokens["clerk"],
    )
    aid = r.json()["id"]

    async def case_id() -> str | None:
        return (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()["case_id"]

    cid = await wait_for(case_id)
    for who, path, payload in (
        ("clerk", "investigation", {"on": _on(1)}),
        ("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": _on(3), "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"}),
        ("reviewer", "appraisal", {"on": _on(5), "result": "agreed", "participants": 11, "opinion": "评议通过"}),
        ("reviewer", "notice/close", {"on": _on(12)}),
        ("approver", "decision", {"on": _on(13), "decision": "approve", "opinion": "同意纳入"}),
    ):
        r = await http.post(f"{eligibility}/cases/{cid}/{path}", json=payload, headers=tokens[who])
        assert r.status_code == 200, (path, r.text)
    return household, r.json()


async def _set_value(http, stack, tokens, start: Period, fen: int, reference: str) -> None:
    r = await http.post(
        f"{stack.url('eligibility')}/parameters",
        headers=tokens["admin"],
        json={
            "region": "610626",
            "key": ILLNESS_KEY,
            "start": start.first_day.isoformat(),
            "value": fen,
            "reference": reference,
        },
    )
    assert r.status_code == 201, r.text


async def _batch(http, stack, tokens, region: str, period: Period, kind: str = "regular") -> dict:
    payments = stack.url("payments")
    r = await http.post(
        f"{payments}/batches",
        json={"region_code": region, "period": str(period), "kind": kind},
        headers=tokens["finance"],
    )
    assert r.status_code in (200, 202), r.text

    async def built() -> dict | None:
        b = (await http.get(f"{payments}/batches/{r.json()['id']}", headers=tokens["finance"])).json()
        return b if b["status"] == "built" else None

    return await wait_for(built)


async def _pay(http, stack, tokens, batch: dict) -> tuple[list[dict], dict]:
    payments, bid = stack.url("payments"), batch["id"]
    assert (await http.post(f"{payments}/batches/{bid}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await http.post(f"{payments}/batches/{bid}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await http.get(f"{payments}/batches/{bid}/bank-file", headers=tokens["finance"])).content)
    r = await http.post(
        f"{payments}/batches/{bid}/returns",
        headers=tokens["finance"],
        files={"file": ("return.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text
    return rows, r.json()


async def test_an_approved_wuqi_case_is_paid_reconciled_back_paid_and_counted(stack, http, tokens):
    payments, intake = stack.url("payments"), stack.url("intake")
    household, case = await _approved_case(stack, http, tokens)
    hid, region = household["id"], household["region_code"]
    month = Period.parse(case["effective_month"])

    async def on_roll() -> list:
        return (
            await http.get(f"{payments}/beneficiaries", params={"household_id": hid}, headers=tokens["finance"])
        ).json()["items"]

    [beneficiary] = await wait_for(on_roll)
    assert beneficiary["monthly_amount_fen"] == 150_000 and beneficiary["persons"] == 3

    async def payee_arrived() -> bool:  # the sealed payee event travels intake → Kafka → payments
        b = await _batch(http, stack, tokens, region, month)
        if b["line_count"] == 1 and b["reconciliation"]["failed_count"] == 0:
            return b
        await http.post(
            f"{payments}/batches/{b['id']}/cancel",
            json={"reason": "account not yet on file"},
            headers=tokens["finance"],
        )
        return None

    first = await wait_for(payee_arrived, timeout=30, interval=0.5)
    rows, settled = await _pay(http, stack, tokens, first)
    assert [(r["account_number"], r["amount_yuan"]) for r in rows] == [(ACCOUNT, "1500.00")]
    roster = await http.get(
        f"{payments}/batches/{first['id']}/roster", params={"township": region[:9]}, headers=tokens["finance"]
    )
    assert roster.status_code == 200 and roster.content[:2] == b"PK"
    title = next(openpyxl.load_workbook(io.BytesIO(roster.content), read_only=True).active.iter_rows(values_only=True))
    assert title[0].startswith("铁边城镇 社会救助资金发放花名册")
    assert settled["reconciliation"]["paid_fen"] == 150_000 and settled["reconciliation"]["pending_count"] == 0

    async def shown_paid() -> dict | None:
        r = await http.get(f"{intake}/households/{hid}/last-payment", headers=tokens["clerk"])
        return r.json() if r.status_code == 200 else None

    last = await wait_for(shown_paid)
    assert (last["status"], last["period"], last["amount_fen"]) == ("paid", str(month), 150_000)

    second = await _batch(http, stack, tokens, region, month.next())
    await _pay(http, stack, tokens, second)
    # 提标 decided two months late, through the API: an admin adds 吴起县's raised 分类施保 for its seriously ill member
    # from the first paid month; eligibility recomputes the case and announces the backdated amount, payments takes it.
    await _set_value(http, stack, tokens, month, 12_000, "吴起县 重病患者分类施保 (test: 0 → 120元/人月)")

    async def changed() -> bool:
        b = (await on_roll())[0]
        return b["monthly_amount_fen"] == 162_000

    await wait_for(changed)
    supplement = await _batch(http, stack, tokens, region, month.plus(2), "supplement")
    assert (supplement["line_count"], supplement["total_fen"]) == (2, 2 * 12_000)
    await _pay(http, stack, tokens, supplement)
    assert (await _batch(http, stack, tokens, region, month.plus(2), "supplement"))["line_count"] == 0
    # The county's next value (0 again, from the month after the two): today's assessments of other tests' seriously
    # ill members stay as the YAML has them.
    await _set_value(http, stack, tokens, month.plus(2), 0, "吴起县 重病患者分类施保 (test: 恢复为0)")

    stats = (
        await http.get(
            f"{payments}/statistics", params={"region": region, "period": str(month)}, headers=tokens["finance"]
        )
    ).json()
    dibao = next(p for p in stats["programmes"] if p["programme"] == "dibao")
    assert (dibao["households"], dibao["persons"]) == (1, 3)
    assert dibao["paid_fen"] == dibao["money_fen"] == 150_000 + 12_000  # the month's pay and its back-pay


async def test_batch_worker_killed_halfway_completes_with_nothing_missing_or_doubled(stack, http, tokens, db):
    region = f"6106261{random.randint(60, 99)}"  # a township of its own (see tests.payments_kit.village), 20 villages
    await seed_roll(db, region, 40_000, Period(2026, 3))  # owed from the batch's month: one line each
    stack.stop("payments-worker")
    stack.start_worker("payments", {"PAYMENTS_BATCH_CHUNK_SIZE": "200", "PAYMENTS_BATCH_POLL_SECONDS": "0.1"})
    r = await http.post(
        f"{stack.url('payments')}/batches", json={"region_code": region, "period": "2026-03"}, headers=tokens["finance"]
    )
    bid = r.json()["id"]

    async def progress() -> tuple[int, int | None]:
        async with db.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT progress_done, progress_total FROM payments.batches WHERE id = :b"), {"b": bid}
                )
            ).one()
        return row[0], row[1]

    async def started() -> bool:
        return (await progress())[0] > 0

    await wait_for(started, interval=0.01)
    stack.kill("payments-worker")  # SIGKILL mid-build
    done, total = await progress()
    assert 0 < done < total == 40_000, (done, total)
    await asyncio.sleep(0.5)
    stack.start_worker("payments")

    async def built() -> dict | None:
        b = (await http.get(f"{stack.url('payments')}/batches/{bid}", headers=tokens["finance"])).json()
        return b if b["status"] == "built" else None

    b = await wait_for(built, timeout=60)
    assert b["line_count"] == 40_000 and b["progress"] == {"done": 40_000, "total": 40_000}
    async with db.connect() as conn:
        distinct = await conn.scalar(
            text("SELECT count(DISTINCT beneficiary_id) FROM payments.payment_lines WHERE batch_id = :b"), {"b": bid}
        )
        expected = await conn.scalar(
            text("SELECT sum(monthly_amount_fen) FROM payments.beneficiaries WHERE region_code LIKE :p"),
            {"p": region + "%"},
        )
    assert distinct == 40_000 and b["total_fen"] == expected
