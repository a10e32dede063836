"""Keeping the beneficiary roll (保障名册) and its entitlement history from eligibility's decisions, the one-off
awards (临时救助 / 医疗救助) to pay, and the payees (收款账户) intake announces sealed.

Handlers are idempotent (a replayed event changes nothing) and an event that needs no effect here — an amount change
or an end for a case that never was on the roll, like a one-off case — is acknowledged without effect, never sent to
the DLQ."""

from __future__ import annotations

import logging
import uuid

from services.payments.models import Beneficiary
from services.payments.recovery import service as recovery
from services.payments.roll import domain
from services.payments.roll.repository import AwardRepository, BeneficiaryRepository, PayeeRepository
from services.payments.roll.schemas import BeneficiaryOut, EntitlementOut
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.catalogue import (
    BeneficiaryEnrolled,
    CaseAmountChanged,
    CaseApproved,
    CaseTerminated,
    GradualExitStarted,
    PayeeChanged,
)
from shared.events.envelope import CloudEvent
from shared.period import Period
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def on_approved(uow: UnitOfWork, event: CloudEvent, data: CaseApproved) -> None:
    if data.monthly_amount_fen is None:
        if data.one_off_amount_fen:
            await _award(uow, event, data)
        return
    await enroll(uow, event, data)


async def _award(uow: UnitOfWork, event: CloudEvent, data: CaseApproved) -> None:
    """一次性救助: paid once, in the next batch of its region (or an urgent batch the same day)."""
    new = await AwardRepository(uow.session).add_once({
        "id": uuid.uuid4(), "case_id": data.case_id, "household_id": data.household_id, "programme": data.programme,
        "region_code": data.region_code, "amount_fen": data.one_off_amount_fen,
        "persons": max(len(data.member_ids), 1), "approved_month": Period.of(data.decided_at.date()).first_day,
        "event_id": event.id})
    if new:
        await audit.record(uow, "payments", "award.record", "one_off_award", data.case_id,
                           household_id=data.household_id, region_code=data.region_code,
                           details={"amount_fen": data.one_off_amount_fen, "programme": data.programme})


async def enroll(uow: UnitOfWork, event: CloudEvent, data: CaseApproved) -> Beneficiary | None:
    """Put an approved household on the roll from its effective month; once per case."""
    assert data.monthly_amount_fen is not None
    repo = BeneficiaryRepository(uow.session)
    if existing := await repo.by_case(data.case_id):
        return existing
    beneficiary = Beneficiary(id=uuid.uuid4(), case_id=data.case_id, household_id=data.household_id,
                              programme=data.programme, region_code=data.region_code,
                              persons=max(len(data.member_ids), 1), status="active",
                              monthly_amount_fen=data.monthly_amount_fen, start_month=data.effective_month.first_day,
                              tekun_arrangement=data.tekun_arrangement)
    repo.add(beneficiary)
    await uow.session.flush()
    await repo.apply(beneficiary.id, domain.set_amount([], data.effective_month, data.monthly_amount_fen, None),
                     event.id, "approved")
    log.info("beneficiary %s enrolled from case %s", beneficiary.id, data.case_id)
    uow.emit(BeneficiaryEnrolled(beneficiary_id=beneficiary.id, case_id=data.case_id, household_id=data.household_id,
                                 programme=data.programme, region_code=data.region_code,
                                 monthly_amount_fen=data.monthly_amount_fen, start_month=data.effective_month),
             key=data.household_id, region=data.region_code)
    await audit.record(uow, "payments", "beneficiary.enroll", "beneficiary", beneficiary.id,
                       household_id=data.household_id, region_code=data.region_code)
    return beneficiary


async def _on_roll(uow: UnitOfWork, event: CloudEvent, case_id: uuid.UUID) -> Beneficiary | None:
    repo = BeneficiaryRepository(uow.session)
    beneficiary = await repo.by_case(case_id, for_update=True)
    if beneficiary is None:
        # Approval always comes first (one household, one partition): no beneficiary means a case that never was on
        # the roll (one-off help). Nothing to do.
        log.info("%s for case %s: not on the roll, nothing to change", event.type, case_id)
        return None
    if await repo.decision_applied(event.id):
        return None
    return beneficiary


async def change_amount(uow: UnitOfWork, event: CloudEvent, data: CaseAmountChanged) -> None:
    """调整 (also 提标, possibly backdated): the new amount is owed from the effective month on."""
    if (b := await _on_roll(uow, event, data.case_id)) is None:
        return
    repo = BeneficiaryRepository(uow.session)
    if b.status == "exiting":
        # A review that finds the household eligible again ends the 渐退: the amount runs on, open-ended.
        b.status, b.end_month = "active", None
    last = Period.of(b.end_month) if b.end_month else None
    await repo.apply(b.id, domain.set_amount(await repo.in_force(b.id), data.effective_month,
                                             data.monthly_amount_fen, last), event.id, "amount_changed")
    b.monthly_amount_fen = data.monthly_amount_fen
    await audit.record(uow, "payments", "beneficiary.amount_change", "beneficiary", b.id,
                       household_id=b.household_id, region_code=b.region_code,
                       details={"from": data.previous_monthly_amount_fen, "to": data.monthly_amount_fen,
                                "effective_month": str(data.effective_month)})


async def end(uow: UnitOfWork, event: CloudEvent, data: GradualExitStarted | CaseTerminated) -> None:
    """渐退 or 停保: owed up to and including the last month, never after (a death in May is paid for May)."""
    if (b := await _on_roll(uow, event, data.case_id)) is None:
        return
    repo = BeneficiaryRepository(uow.session)
    await repo.apply(b.id, domain.end_after(await repo.in_force(b.id), data.last_month), event.id,
                     "gradual_exit" if isinstance(data, GradualExitStarted) else "terminated")
    b.end_month = data.last_month.first_day
    if isinstance(data, GradualExitStarted):
        b.status = "exiting"
    else:
        b.status, b.end_reason = "stopped", data.reason
    await audit.record(uow, "payments", f"beneficiary.{b.status}", "beneficiary", b.id,
                       household_id=b.household_id, region_code=b.region_code,
                       details={"last_month": str(data.last_month),
                                "reason": getattr(data, "reason", "gradual_exit")})
    # A stop that arrives after a later month's batch was built: cancel what is not at the bank, record the rest.
    await recovery.after_stop(uow, b, data.last_month, getattr(data, "reason", "gradual_exit"))


async def payee_changed(uow: UnitOfWork, event: CloudEvent, data: PayeeChanged) -> None:
    """Stored sealed as it came; used by batches created from now on."""
    await PayeeRepository(uow.session).record(data.household_id, data.key_id, data.sealed, data.account_last4,
                                              data.changed_at, event.id)
    await audit.record(uow, "payments", "payee.change", "payee", data.household_id, household_id=data.household_id,
                       region_code=data.region_code, details={"account_last4": data.account_last4})


async def roll_in_region(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID | None,
                         limit: int) -> list[BeneficiaryOut]:
    rows = await BeneficiaryRepository(uow.session).in_region(principal.region, household_id, limit)
    await audit.record(uow, principal, "beneficiary.list", "beneficiary", None, household_id=household_id,
                       region_code=principal.region, details={"count": len(rows)})
    return [to_out(b) for b in rows]


async def entitlement_history(uow: UnitOfWork, principal: Principal, beneficiary_id: uuid.UUID) -> list[EntitlementOut]:
    repo = BeneficiaryRepository(uow.session)
    b = await repo.get(beneficiary_id)
    if b is None or not principal.covers(b.region_code):
        raise NotFound(f"beneficiary {beneficiary_id} not found")
    await audit.record(uow, principal, "beneficiary.entitlements", "beneficiary", b.id, household_id=b.household_id,
                       region_code=b.region_code)
    return entitlement_out(await repo.history(b.id))


def to_out(b: Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(id=b.id, case_id=b.case_id, household_id=b.household_id, programme=b.programme,
                          region_code=b.region_code, monthly_amount_fen=b.monthly_amount_fen, persons=b.persons,
                          start_month=Period.of(b.start_month),
                          end_month=Period.of(b.end_month) if b.end_month else None, status=b.status,
                          end_reason=b.end_reason, tekun_arrangement=b.tekun_arrangement)


def entitlement_out(rows: list) -> list[EntitlementOut]:
    return [EntitlementOut(from_month=Period.of(r.from_month), to_month=Period.of(r.to_month) if r.to_month else None,
                           monthly_amount_fen=r.monthly_amount_fen, event_id=r.event_id, event_type=r.event_type,
                           in_force=r.superseded_by is None, superseded_by=r.superseded_by) for r in rows]
