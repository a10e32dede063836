"""Whom the public notices name. A person-level programme (特困, orphans, disability subsidies) applied for without
naming the applicant has the rule look at every member: the row names the person(s) it covers or pays, masked,
never the head it does not pay (the demo's 杨丽's 护理补贴 was posted as her father 杨*华's)."""

from __future__ import annotations

import uuid
from datetime import date

from services.eligibility.notices.repository import RollEntry
from services.eligibility.notices.service import _named, _row
from shared.core.period import Period
from tests.unit.eligibility.test_case_model import _member, application, household, opened


def _yangs():
    return household(
        [
            _member("杨文华", "1978-06-11", "head", employed=True),
            _member("杨丽", "2005-02-17", "child", disability_category="intellectual", disability_grade=2),
            _member("杨老汉", "1940-03-05", "parent", disability_category="physical", disability_grade=1),
        ],
        wages_fen=90_000,
    )


def test_the_seven_day_notice_names_the_persons_a_person_level_case_covers():
    snapshot = _yangs()
    case = opened(application(snapshot, "disability_care"))
    case.notice_posted_on, case.notice_ends_on = date(2023, 9, 13), date(2023, 9, 19)
    assert case.applicant_member_id is None and len(case.assessment.covered_member_ids) == 2
    assert _row(case).name == "杨*、杨*汉"
    dibao = opened(application(snapshot))
    dibao.notice_posted_on, dibao.notice_ends_on = date(2023, 9, 13), date(2023, 9, 19)
    assert _row(dibao).name == "杨*华"  # a household's programme: the head


YANGS = [
    {"member_id": str(m.member_id), "name": m.name, "relation": m.relation, "counted": True} for m in _yangs().members
]


def _entry(programme: str, segments: list[dict], applicant: str | None = None, covered=()) -> RollEntry:
    return RollEntry(
        "610626101201",
        programme,
        8_000,
        date(2023, 10, 1),
        applicant,
        YANGS,
        list(covered),
        uuid.uuid4(),
        segments,
        uuid.uuid4(),
    )


def test_the_long_term_notice_names_whom_the_schedule_pays_this_month():
    _, daughter, grandfather = (m["member_id"] for m in YANGS)

    def paid(*who: str, to: str | None = None) -> list[dict]:
        return [
            {"from_month": "2023-10", "to_month": to, "member_id": w, "persons": 1, "amount_fen": 8_000} for w in who
        ]

    month = Period(2024, 3)
    assert _named(_entry("disability_care", paid(daughter)), month) == "杨*"
    assert _named(_entry("disability_care", paid(grandfather, daughter)), month) == "杨*、杨*汉"  # household's order
    assert _named(_entry("disability_care", paid(daughter, to="2024-02") + paid(grandfather)), month) == "杨*汉"
    # Before schedules were kept: the applicant, else the persons the assessment covers; the head only for 低保.
    assert _named(_entry("disability_care", [], applicant=daughter), month) == "杨*"
    assert _named(_entry("disability_care", [], covered=[grandfather]), month) == "杨*汉"
    assert _named(_entry("dibao", [{**paid(None)[0], "persons": 3}]), month) == "杨*华"
