"""Bulk pricing (`POST /assessments`): up to 1000 households priced by today's rules in one call, as intake's roll
import (存量对象导入) flags the rows whose amount as paid today differs from what the rules compute. Nothing is
written but the audit of the read: each household priced, under its region."""

from __future__ import annotations

from services.eligibility.assessments.domain import price
from services.eligibility.assessments.schemas import AssessmentRequest, AssessmentResponse
from services.eligibility.policy_admin.in_force import effective_parameters
from shared import audit
from shared.auth import Principal
from shared.errors import Forbidden
from shared.uow import UnitOfWork


async def assess_many(uow: UnitOfWork, principal: Principal, body: AssessmentRequest) -> AssessmentResponse:
    """Every item priced, in order; an item of a village outside the caller's region refuses the whole call (403,
    naming the item), so nothing of another region is ever priced for them."""
    outside = [i for i, item in enumerate(body.items) if not principal.covers(item.snapshot.region_code)]
    if outside:
        raise Forbidden(
            f"{len(outside)} item(s) of a region outside yours ({principal.region or 'national'})",
            errors=[
                {"field": f"items[{i}].snapshot.region_code", "message": "outside your region"} for i in outside[:200]
            ],
        )
    params = await effective_parameters(uow)
    results = [price(item, params) for item in body.items]
    await audit.record(
        uow,
        principal,
        "assessment.price",
        "household",
        [
            {
                "resource_id": item.snapshot.household_id,
                "household_id": item.snapshot.household_id,
                "region_code": item.snapshot.region_code,
                "details": {"programme": item.programme, "on": str(item.on), "ref": item.ref},
            }
            for item in body.items
        ],
    )
    return AssessmentResponse(items=results)
