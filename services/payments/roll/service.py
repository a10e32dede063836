"""Keeping the beneficiary roll (保障名册) from eligibility's decisions."""

from __future__ import annotations

import logging
import uuid

from services.payments.models import Beneficiary
from services.payments.roll.repository import BeneficiaryRepository
from services.payments.roll.schemas import BeneficiaryOut
from shared import audit
from shared.events.catalogue import (
    BeneficiaryEnrolled,
    CaseAmountChanged,
    CaseApproved,
    CaseTerminated,
    GradualExitStarted,
)
from shared.period import Period
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def enroll(uow: UnitOfWork, data: CaseApproved) -> Beneficiary | None:
    """Put an approved household on the roll from its effective month; once per case."""
    if data.monthly_amount_fen is None:
        return None  # one-off payments (临时救助) are paid, not enrolled
    repo = BeneficiaryRepository(uow.session)
    if existing := await repo.by_case(data.case_id):
        return existing
    beneficiary = Beneficiary(id=uuid.uuid4(), case_id=data.case_id, household_id=data.household_id,
                              programme=data.programme, region_code=data.region_code,
                              monthly_amount_fen=data.monthly_amount_fen, start_month=data.effective_month.first_day)
    repo.add(beneficiary)
    log.info("beneficiary %s enrolled from case %s", beneficiary.id, data.case_id)
    uow.emit(BeneficiaryEnrolled(beneficiary_id=beneficiary.id, case_id=data.case_id, household_id=data.household_id,
                                 programme=data.programme, region_code=data.region_code,
                                 monthly_amount_fen=data.monthly_amount_fen, start_month=data.effective_month),
             key=data.household_id, region=data.region_code)
    await audit.record(uow, "payments", "beneficiary.enroll", "beneficiary", beneficiary.id,
                       household_id=data.household_id, region_code=data.region_code)
    return beneficiary


async def _enrolled(uow: UnitOfWork, case_id: uuid.UUID) -> Beneficiary:
    beneficiary = await BeneficiaryRepository(uow.session).by_case(case_id, for_update=True)
    if beneficiary is None:
        # Events of one household share a partition and arrive in order, so approval always comes first.
        raise LookupError(f"no beneficiary for case {case_id}")
    return beneficiary


async def change_amount(uow: UnitOfWork, data: CaseAmountChanged) -> None:
    """调整: the new monthly amount applies from the event's effective month (the monthly batch reads it)."""
    b = await _enrolled(uow, data.case_id)
    b.monthly_amount_fen, b.status, b.end_month = data.monthly_amount_fen, "active", None
    await audit.record(uow, "payments", "beneficiary.amount_change", "beneficiary", b.id,
                       household_id=b.household_id, region_code=b.region_code,
                       details={"from": data.previous_monthly_amount_fen, "to": data.monthly_amount_fen,
                                "effective_month": str(data.effective_month)})


async def end(uow: UnitOfWork, data: GradualExitStarted | CaseTerminated) -> None:
    """渐退 or 停保: payment continues up to and including the last month, never after."""
    if isinstance(data, CaseTerminated) and await BeneficiaryRepository(uow.session).by_case(data.case_id) is None:
        # A one-off payment (临时救助) never went on the roll: nothing to stop, so the event is applied as a no-op.
        log.info("case %s terminated with nothing on the roll", data.case_id)
        return
    b = await _enrolled(uow, data.case_id)
    b.end_month = data.last_month.first_day
    b.status = "exiting" if isinstance(data, GradualExitStarted) else "stopped"
    await audit.record(uow, "payments", f"beneficiary.{b.status}", "beneficiary", b.id,
                       household_id=b.household_id, region_code=b.region_code,
                       details={"last_month": str(data.last_month)})


def to_out(b: Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(id=b.id, case_id=b.case_id, household_id=b.household_id, programme=b.programme,
                          region_code=b.region_code, monthly_amount_fen=b.monthly_amount_fen,
                          start_month=str(Period.of(b.start_month)),
                          end_month=str(Period.of(b.end_month)) if b.end_month else None, status=b.status)
