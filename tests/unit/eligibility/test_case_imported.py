"""`Case.imported` alone (存量对象导入): approved on the old approval date at the file's amount, one step, the events of
an approval; and `POST /assessments`' pricing of one item."""

from __future__ import annotations

import uuid
from datetime import date

from services.eligibility.assessments.domain import price
from services.eligibility.cases.domain import Actor, Case
from services.eligibility.cases.workflow import Status
from services.eligibility.policy import ApplicationFacts, assess, default_parameters
from services.eligibility.policy.golden_cases import load_golden_cases
from shared.core.assessment_contract import AssessmentItem
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.events.catalogue import ApplicationImported, CaseApproved, CaseOpened, CaseScheduleChanged

PARAMS = default_parameters()
IMPORTER = Actor("roll-import:test", frozenset({"system"}))


def _snapshot(members: int = 2) -> HouseholdSnapshot:
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": "610626101203",
            "hukou_type": "rural",
            "members": [
                {"member_id": str(uuid.uuid4()), "name": n, "birth_date": "1950-01-01", "sex": "male", "relation": r}
                for n, r in (("甲", "head"), ("乙", "spouse"))[:members]
            ],
        }
    )


def _event(snapshot: HouseholdSnapshot, programme: str = "dibao", **overrides) -> ApplicationImported:
    covered = [m.member_id for m in snapshot.members]
    return ApplicationImported.model_validate(
        {
            "application_id": uuid.uuid4(),
            "household_id": snapshot.household_id,
            "programme": programme,
            "region_code": snapshot.region_code,
            "submitted_on": date(2026, 12, 3),
            "consent_signed": True,
            "separate_register": False,
            "details": {},
            "snapshot": snapshot,
            "import_id": uuid.uuid4(),
            "approved_on": date(2026, 11, 20),
            "monthly_amount_fen": 45_000,
            "persons": len(covered),
            "covered_member_ids": covered,
            "paid_through": "2026-11",
            "amount_differs": True,
        }
        | overrides
    )


def test_an_imported_case_is_approved_from_the_month_after_at_the_file_amount():
    case = Case.imported(_event(_snapshot()), PARAMS, IMPORTER)
    assert (case.status, case.opened_on, case.decided_on) == (Status.APPROVED, date(2026, 11, 20), date(2026, 11, 20))
    assert (case.monthly_amount_fen, case.effective_month) == (45_000, date(2026, 12, 1))
    assert case.next_review_on == date(2026, 12, 3)  # differs: due now
    steps, events = case.collect_steps(), case.collect_new_events()
    assert [(s.step, s.actor, s.on) for s in steps] == [("imported", IMPORTER, date(2026, 11, 20))]
    assert [type(e) for e in events] == [CaseOpened, CaseApproved, CaseScheduleChanged]
    approved = events[1]
    assert isinstance(approved, CaseApproved)
    # Approved in November, paid by the old system through November: nothing from December was paid elsewhere.
    assert (approved.effective_month, approved.paid_elsewhere_through) == (Period(2026, 12), None)
    schedule = events[2]
    assert isinstance(schedule, CaseScheduleChanged)
    assert [(s.from_month, s.to_month, s.amount_fen, s.persons) for s in schedule.segments] == [
        (Period(2026, 12), None, 45_000, 2)
    ]


def test_a_person_level_import_owes_its_member():
    snapshot = _snapshot(1)
    [member] = [m.member_id for m in snapshot.members]
    case = Case.imported(_event(snapshot, "tekun", persons=1, approved_on=date(2024, 2, 1)), PARAMS, IMPORTER)
    [segment] = case.schedule
    assert (segment.member_id, segment.amount_fen, segment.persons, segment.reason) == (member, 45_000, 1, "imported")
    approved = case.collect_new_events()[1]
    assert isinstance(approved, CaseApproved) and approved.paid_elsewhere_through == Period(2026, 11)


def test_pricing_an_item_is_the_rule_on_its_facts():
    checked = 0
    for golden in load_golden_cases():
        if golden.programme != "dibao" or golden.application is not None or golden.region:
            continue
        item = AssessmentItem(ref=golden.id[:64], programme="dibao", on=golden.on, snapshot=golden.snapshot)
        result = price(item, PARAMS)
        rule = assess("dibao", golden.snapshot, golden.on, None, PARAMS, ApplicationFacts())
        assert (result.eligible, result.monthly_amount_fen if result.eligible else None) == (
            rule.eligible,
            rule.monthly_amount_fen if rule.eligible else None,
        )
        assert result.persons == (len(rule.covered_member_ids) if rule.eligible else 0)
        checked += 1
    assert checked >= 5
