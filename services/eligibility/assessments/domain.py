"""Pricing one household for one programme on one date by today's rules (the region's dated parameters): the pure
part of `POST /assessments`, no database or web framework. What a case's own assessment would say on the same
facts (`Case.assess`), as the contract's result: eligible or not with why, the monthly amount and its persons."""

from __future__ import annotations

from services.eligibility.assessments.schemas import AssessmentItem, AssessmentResult
from services.eligibility.policy import ApplicationFacts, ParameterSet, assess
from shared.events.catalogue import PERSON_LEVEL, application_details


def price(item: AssessmentItem, params: ParameterSet) -> AssessmentResult:
    """The rule of `item.programme` on its snapshot, on `item.on`, in the snapshot's village. A person-level
    programme prices the members in `covered_member_ids` (the one named is the applicant the rule assesses; none
    named: every member). A rule that cannot run (missing facts, no parameter for the region or date) is not
    eligible, with why."""
    try:
        details = item.details or application_details(item.programme, {})
        if details.programme != item.programme:
            raise ValueError(f"details are for {details.programme}, the item for {item.programme}")
        covered = item.covered_member_ids or []
        facts = ApplicationFacts.of_application(details, covered[0] if len(covered) == 1 else None)
        result = assess(item.programme, item.snapshot, item.on, item.snapshot.region_code, params, facts)
    except (ValueError, KeyError, LookupError, ArithmeticError, TypeError) as exc:
        return AssessmentResult(ref=item.ref, eligible=False, persons=0, reasons=[f"cannot assess: {exc}"])
    if item.programme in PERSON_LEVEL:
        awards = [a for a in result.beneficiaries if a.eligible and (not covered or a.member_id in covered)]
        eligible = result.eligible and bool(awards)
        amount = sum(a.monthly_amount_fen for a in awards) if eligible else None
        persons = len(awards)
    else:
        eligible = result.eligible
        amount = result.monthly_owed_fen
        # A status paying no cash names nobody it covers: it is the household's members, as its approval says.
        persons = len(result.covered_member_ids or item.snapshot.counted_members()) if eligible else 0
    return AssessmentResult(
        ref=item.ref, eligible=eligible, monthly_amount_fen=amount, persons=persons, reasons=list(result.reasons)
    )
