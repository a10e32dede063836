"""Keeping the beneficiary roll (保障名册) from eligibility's decisions."""

from __future__ import annotations

import logging
import uuid

from services.payments.models import Beneficiary
from services.payments.roll.repository import BeneficiaryRepository
from services.payments.roll.schemas import BeneficiaryOut
from shared import audit
from shared.events.catalogue import BeneficiaryEnrolled, CaseApproved
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


def to_out(b: Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(id=b.id, case_id=b.case_id, household_id=b.household_id, programme=b.programme,
                          region_code=b.region_code, monthly_amount_fen=b.monthly_amount_fen,
                          start_month=str(Period.of(b.start_month)), status=b.status)
