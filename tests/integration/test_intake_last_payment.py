"""The front desk sees a household's last payment status, from payments' payment.paid / payment.failed events."""

from __future__ import annotations

import uuid

from services.intake.last_payment.service import on_payment
from services.intake.models import platform
from shared.core.period import Period
from shared.db import session_factory
from shared.events.catalogue import PaymentFailed, PaymentPaid
from shared.uow import UnitOfWork
from tests.helpers import household_body


async def test_last_payment_status_follows_the_latest_month(api, tokens, db):
    r = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    hid = uuid.UUID(r.json()["id"])
    url = f"/households/{hid}/last-payment"
    assert (await api("intake").get(url, headers=tokens["clerk"])).status_code == 404
    common = {
        "batch_id": uuid.uuid4(),
        "case_id": uuid.uuid4(),
        "household_id": hid,
        "programme": "dibao",
        "region_code": "610626101201",
        "amount_fen": 150_000,
    }
    sessions = session_factory(db)
    for data in (
        PaymentFailed(payment_id=uuid.uuid4(), period=Period(2026, 7), reason="账户已冻结", **common),
        PaymentPaid(payment_id=uuid.uuid4(), period=Period(2026, 6), **common),
    ):  # older month: ignored
        async with UnitOfWork(sessions, platform, "/tests") as uow:
            await on_payment(uow, data)
            await uow.commit()
    r = await api("intake").get(url, headers=tokens["clerk"])
    assert r.status_code == 200 and (r.json()["status"], r.json()["period"], r.json()["reason"]) == (
        "failed",
        "2026-07",
        "账户已冻结",
    )
    async with UnitOfWork(sessions, platform, "/tests") as uow:  # the re-issue of July is paid
        await on_payment(uow, PaymentPaid(payment_id=uuid.uuid4(), period=Period(2026, 7), **common))
        await uow.commit()
    r = await api("intake").get(url, headers=tokens["clerk"])
    assert (r.json()["status"], r.json()["reason"]) == ("paid", None)
    assert (await api("intake").get(url, headers=tokens["clerk_other_county"])).status_code == 404
