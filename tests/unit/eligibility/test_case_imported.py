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
IMPORT_DAY = date(2026, 12, 3)
IMPORTER = Actor("roll-import:test", frozenset({"system"}))


def _snapshot(members: int = 2, born: str = "1950-01-01") -> HouseholdSnapshot:
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": "610626101203",
            "hukou_type": "rural",
            "members": [
                {"member_id": str(uuid.uuid4()), "name": n, "birth_date": born, "sex": "male", "relation": r}
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
            "submitted_on": date(2026, 11, 20),  # as intake sends it: the application's date is the approval's
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
    case = Case.imported(_event(_snapshot()), PARAMS, IMPORT_DAY, IMPORTER)
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
    event = _event(snapshot, "tekun", persons=1, approved_on=date(2024, 2, 1))
    case = Case.imported(event, PARAMS, IMPORT_DAY, IMPORTER)
    [segment] = case.schedule
    assert (segment.member_id, segment.amount_fen, segment.persons, segment.reason) == (member, 45_000, 1, "imported")
    approved = case.collect_new_events()[1]
    assert isinstance(approved, CaseApproved) and approved.paid_elsewhere_through == Period(2026, 11)


def test_an_approval_older_than_every_value_we_hold_comes_in_priced_and_reviewed_from_the_import_day():
    """吴起县's values start in 2023, the national review intervals in June 2021: a 特困 person approved in 2015 is
    still on the roll. Everything a parameter decides is read as of the import day: the assessment, who decides
    (the county: not delegated), and the next review — the regular rhythm counted from the old approval (the
    members, of working age, are recorded with full labour capacity, the default: every 6 months), the first date
    past the import day: 2015-06-10 + 23 × 6 months = 2026-12-10."""
    event = _event(
        _snapshot(born="1980-01-01"),
        approved_on=date(2015, 6, 10),
        submitted_on=date(2015, 6, 10),
        amount_differs=False,
    )
    event = event.model_copy(update={"computed_amount_fen": 45_000})
    case = Case.imported(event, PARAMS, IMPORT_DAY, IMPORTER)
    assert (case.status, case.opened_on, case.delegated) == (Status.APPROVED, date(2015, 6, 10), False)
    assert case.assessment is not None and case.assessment.assessed_on == IMPORT_DAY
    assert case.next_review_on == date(2026, 12, 10)
    approved = case.collect_new_events()[1]
    assert isinstance(approved, CaseApproved)
    assert (approved.effective_month, approved.paid_elsewhere_through) == (Period(2015, 7), Period(2026, 11))


def test_an_imported_case_without_a_review_date_is_next_reviewed_past_the_import_day():
    """Counted from the old approval in whole intervals (6 months, as above), never on a date already past."""
    for approved_on, due in (
        (date(2026, 11, 20), date(2027, 5, 20)),  # one interval
        (date(2026, 6, 20), date(2026, 12, 20)),  # the first interval ends after the import day
        (date(2026, 6, 3), date(2027, 6, 3)),  # … and on it: the next one
        (date(2024, 1, 31), date(2027, 1, 28)),  # a month-end approval: on the 28th, as every review
    ):
        event = _event(
            _snapshot(born="1980-01-01"), approved_on=approved_on, amount_differs=False, computed_amount_fen=45_000
        )
        assert Case.imported(event, PARAMS, IMPORT_DAY, IMPORTER).next_review_on == due, approved_on


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


def test_a_rise_back_dated_before_the_value_an_import_was_priced_with_leaves_the_old_systems_months_alone():
    """An urban household of two on the roll since 2020 at 1600.00, what our rules price with today's standard
    (800.00 from August 2026). A value from January 2026 (700.00) decided afterwards must not re-price the months
    before August with it: the file says what is paid today, not what the old system paid in January, and those
    months are not ours to cut (a 提标 notice of 1600 → 1400 from January). From August on, 800 still prices them:
    nothing moves."""
    from services.eligibility.cases.domain import RecomputedFor

    key, region = "dibao.standard.urban", "610626"
    today_value = PARAMS.with_value(region, key, date(2026, 8, 1), {"per": "month", "fen": 80_000}, "test: 800")
    snapshot = _snapshot().model_copy(update={"hukou_type": "urban", "region_code": "610626001001"})
    event = _event(snapshot, approved_on=date(2020, 3, 15), monthly_amount_fen=160_000, amount_differs=False)
    case = Case.imported(event, today_value, IMPORT_DAY, IMPORTER)
    assert case.assessment.monthly_amount_fen == 160_000  # our rules agree with the file
    back_dated = today_value.with_value(region, key, date(2026, 1, 1), {"per": "month", "fen": 70_000}, "test: 700")
    rise = RecomputedFor(region=region, key=key, start=date(2026, 1, 1))
    assert case.reprice(back_dated, rise, "test: 700 from January", IMPORT_DAY) == []
    assert {s.amount_fen for s in case.schedule} == {160_000}
