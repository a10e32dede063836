"""Rule edge cases beyond the golden suite: traces, dispatch, member selection and parameter overlays."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from services.eligibility.policy import (
    ApplicationFacts,
    MedicalBill,
    MissingApplicationFacts,
    ParameterNotFound,
    TemporaryRequest,
    assess,
    default_parameters,
)
from services.eligibility.policy.rules import (
    assess_dibao,
    assess_disability_care,
    assess_rigid_expense,
    assess_tekun,
    care_level,
    counted_monthly_income_fen,
    is_severely_disabled,
    yuan,
)
from shared.core.household import HouseholdSnapshot, MemberFacts, SelfCare

WUQI = "610626101203"
GAP = "320830101201"
JUNE = date(2023, 6, 1)


def person(**overrides: object) -> MemberFacts:
    data: dict[str, object] = {
        "member_id": uuid4(),
        "name": "李四",
        "birth_date": date(1975, 3, 1),
        "sex": "male",
        "relation": "head",
    }
    data.update(overrides)
    return MemberFacts.model_validate(data)


def household(*members: MemberFacts, region: str = WUQI, hukou: str = "rural", **extra: object) -> HouseholdSnapshot:
    return HouseholdSnapshot.model_validate(
        {
            "household_id": uuid4(),
            "region_code": region,
            "hukou_type": hukou,
            "members": list(members),
            **extra,
        }
    )


def wages(member: MemberFacts, fen: int, subkind: str = "salary") -> dict[str, object]:
    return {"member_id": member.member_id, "kind": "wages", "subkind": subkind, "monthly_amount_fen": fen}


def test_trace_lists_each_parameter_with_reference_and_region() -> None:
    result = assess("dibao", household(person()), JUNE)
    keys = {t.key: t for t in result.trace}
    assert keys["dibao.standard.rural"].region == "610626"
    assert keys["dibao.standard.rural"].value == {"per": "year", "fen": 600000}
    assert "ASSUMPTION" in keys["dibao.tiers.rural"].reference
    assert keys["dibao.mode.rural"].value == "tier"
    assert len(result.trace) == len({(t.key, t.region, t.start) for t in result.trace})


def test_trace_serialises_to_json() -> None:
    result = assess("tekun", household(person(birth_date=date(1940, 1, 1), has_capable_supporter=False)), JUNE)
    text = result.model_dump_json()
    assert '"tekun.basic.rural"' in text and "7800" in text


def test_dispatcher_rejects_unknown_programme() -> None:
    with pytest.raises(ValueError, match="unknown programme"):
        assess("wubao", household(person()), JUNE)


@pytest.mark.parametrize("programme", ["temporary", "medical"])
def test_programmes_needing_application_facts_say_so(programme: str) -> None:
    with pytest.raises(MissingApplicationFacts):
        assess(programme, household(person()), JUNE)


def test_no_counted_members_is_ineligible() -> None:
    result = assess_dibao(household(person(counted=False, not_counted_reason="失踪")), JUNE, WUQI, default_parameters())
    assert not result.eligible
    assert any("无共同生活家庭成员" in r for r in result.reasons)


def test_tier_mode_uses_counted_income_only_for_placement() -> None:
    a, b = person(), person(relation="spouse", sex="female")
    exempt = {"member_id": a.member_id, "kind": "transfer", "subkind": "youfu", "monthly_amount_fen": 999999}
    result = assess("dibao", household(a, b, incomes=[wages(b, 19999), exempt]), JUNE)
    assert result.monthly_amount_fen == 2 * 50000  # per capita 99.995元 < 100元
    result = assess("dibao", household(a, b, incomes=[wages(b, 20000), exempt]), JUNE)
    assert result.monthly_amount_fen == 2 * 45000  # per capita exactly 100元


def test_vehicle_breaks_property_limit_in_wuqi_but_not_gap_county() -> None:
    a = person()
    car = [{"kind": "vehicle", "value_fen": 2000000, "description": "面包车"}]
    assert not assess("dibao", household(a, properties=car), JUNE).eligible
    gap = assess("dibao", household(a, region=GAP, properties=car), JUNE)
    assert gap.eligible and gap.monthly_amount_fen == 33000


def test_other_property_kind_is_not_tested() -> None:
    stuff = [{"kind": "other", "value_fen": 10**9}]
    assert assess("dibao", household(person(), properties=stuff), JUNE).eligible


@pytest.mark.parametrize(
    ("impossible", "level"),
    [(0, "full_self_care"), (1, "partial_care"), (3, "partial_care"), (4, "full_care"), (6, "full_care")],
)
def test_care_level_boundaries(impossible: int, level: str) -> None:
    names = ["eating", "dressing", "bed_transfer", "toileting", "indoor_walking", "bathing"]
    care = SelfCare(**{n: False for n in names[:impossible]})
    assert care_level(person(self_care=care)) == level


@pytest.mark.parametrize(
    ("grade", "category", "severe"),
    [
        (1, "physical", True),
        (2, "visual", True),
        (3, "intellectual", True),
        (3, "mental", True),
        (3, "physical", False),
        (4, "mental", False),
        (None, None, False),
    ],
)
def test_severe_disability(grade: int | None, category: str | None, severe: bool) -> None:
    assert is_severely_disabled(person(disability_grade=grade, disability_category=category)) is severe


def test_tekun_assesses_only_requested_member() -> None:
    elder = person(birth_date=date(1940, 1, 1), has_capable_supporter=False)
    other = person(birth_date=date(1941, 1, 1), has_capable_supporter=False, relation="spouse", sex="female")
    both = assess_tekun(household(elder, other), JUNE, WUQI, default_parameters())
    assert both.monthly_amount_fen == 2 * 86000 and len(both.beneficiaries) == 2
    one = assess_tekun(
        household(elder, other), JUNE, WUQI, default_parameters(), ApplicationFacts(member_id=other.member_id)
    )
    assert [b.member_id for b in one.beneficiaries] == [other.member_id]
    assert one.monthly_amount_fen == 86000


def test_tekun_category_records_institution_and_care_level() -> None:
    elder = person(
        birth_date=date(1940, 1, 1),
        has_capable_supporter=False,
        in_institution=True,
        self_care=SelfCare(eating=False, dressing=False, toileting=False, bathing=False),
    )
    award = assess("tekun", household(elder), JUNE).beneficiaries[0]
    assert award.category == "集中供养/全护理"


def test_temporary_region_is_where_the_emergency_happened() -> None:
    # A 吴起 household hit in the illustrative county: that county's cap and approval threshold apply.
    app = ApplicationFacts(temporary=TemporaryRequest(type="emergency", requested_amount_fen=5_000_000))
    here = assess("temporary", household(person()), date(2023, 8, 1), region="320830", application=app)
    assert here.one_off_amount_fen == 24 * 37000
    assert here.required_approver == "township"
    home = assess("temporary", household(person()), date(2023, 8, 1), application=app)
    assert home.one_off_amount_fen == 5_000_000 and home.required_approver == "county_joint_meeting"


def test_temporary_zero_request_is_ineligible() -> None:
    app = ApplicationFacts(temporary=TemporaryRequest(type="emergency", requested_amount_fen=0))
    assert not assess("temporary", household(person()), JUNE, application=app).eligible


def test_medical_deductible_already_met_this_year() -> None:
    app = ApplicationFacts(
        medical=MedicalBill(
            group="marginal",
            bill_total_fen=300000,
            basic_insurance_paid_fen=150000,
            deductible_used_fen=200000,
        )
    )
    result = assess("medical", household(person(), region=GAP), date(2023, 8, 1), application=app)
    assert result.one_off_amount_fen == 90000  # 1500元 × 0.6, deductible already met


def test_medical_trace_includes_borrowed_seed_004_cap() -> None:
    app = ApplicationFacts(medical=MedicalBill(group="dibao", bill_total_fen=100))
    result = assess("medical", household(person(), region=GAP), date(2023, 8, 1), application=app)
    cap = next(t for t in result.trace if t.key == "medical.annual_cap.dibao")
    assert cap.value == 6000000 and "seed 004" in cap.reference
    assert result.one_off_amount_fen == 70


def _second_claim(stated_fen: int = 0, approved_by_year: dict[int, int] | None = None) -> ApplicationFacts:
    """A 低保 claim of 吴起县: compliant 20000 yuan, basic insurance 10000 → (20000 − 10000) × 70% = 7000 yuan, under
    its yearly cap of 60000 (`medical.annual_cap.dibao`; no deductible for 低保)."""
    bill = MedicalBill(
        group="dibao", bill_total_fen=2_000_000, basic_insurance_paid_fen=1_000_000, paid_this_year_fen=stated_fen
    )
    return ApplicationFacts(medical=bill, medical_approved_by_year=approved_by_year or {})


@pytest.mark.parametrize(
    ("stated", "approved", "amount", "used"),
    [
        # 60000 the platform approved this year, the desk stating 0: 60000 − 60000 = 0 left.
        (0, {2026: 6_000_000}, 0, "本年已救助60000.00元, 按本平台已批准 (前台填报0.00元, 本平台本年已批准60000.00元)"),
        # The desk knows of more (paid outside the platform): 60000 − 58000 = 2000 left.
        (
            5_800_000,
            {2026: 5_500_000},
            200_000,
            "本年已救助58000.00元, 按前台填报 (前台填报58000.00元, 本平台本年已批准55000.00元)",
        ),
        # The larger, never the sum: 60000 − max(50000, 55000) = 5000 left.
        (
            5_000_000,
            {2026: 5_500_000},
            500_000,
            "本年已救助55000.00元, 按本平台已批准 (前台填报50000.00元, 本平台本年已批准55000.00元)",
        ),
        # Last year's approvals are last year's cap: 7000 in full.
        (0, {2025: 6_000_000}, 700_000, "本年已救助0.00元, 按前台填报 (前台填报0.00元, 本平台本年已批准0.00元)"),
    ],
)
def test_the_medical_cap_counts_the_larger_of_the_desk_and_the_platform_this_year(
    stated: int, approved: dict[int, int], amount: int, used: str
) -> None:
    result = assess("medical", household(person()), date(2026, 12, 7), application=_second_claim(stated, approved))
    assert (result.eligible, result.one_off_amount_fen) == (amount > 0, amount), result.reasons
    assert used in result.reasons


@pytest.mark.parametrize(
    ("stated", "platform", "amount", "used"),
    [
        # The household's first claim of the year (10000 yuan left after insurance) was approved on the platform:
        # it met the whole 1500 deductible, so the second pays (10000 − max(0, 1500 − 10000)) × 60% = 6000, not
        # (10000 − 1500) × 60% = 5100.
        (
            0,
            {2026: 1_000_000},
            600_000,
            "本年起付线已用10000.00元, 按本平台已批准 (前台填报0.00元, 本平台本年已批准10000.00元)",
        ),
        # The desk states the deductible met: the same 6000.
        (150_000, {}, 600_000, "本年起付线已用1500.00元, 按前台填报 (前台填报1500.00元, 本平台本年已批准0.00元)"),
        # The larger, never the sum: 1500 − max(500, 800) = 700 left, (10000 − 700) × 60% = 5580 (the sum would
        # leave 200: 5880).
        (
            50_000,
            {2026: 80_000},
            558_000,
            "本年起付线已用800.00元, 按本平台已批准 (前台填报500.00元, 本平台本年已批准800.00元)",
        ),
        # Last year's claims met last year's deductible: (10000 − 1500) × 60% = 5100.
        (0, {2025: 1_000_000}, 510_000, "本年起付线已用0.00元, 按前台填报 (前台填报0.00元, 本平台本年已批准0.00元)"),
    ],
)
def test_the_medical_deductible_counts_the_larger_of_the_desk_and_the_platform_this_year(
    stated: int, platform: dict[int, int], amount: int, used: str
) -> None:
    """吴起县 低保边缘 (610626.yaml, our assumption): deductible 1500 a year, ratio 60%, cap 60000; a claim of 10000
    yuan compliant cost, nothing paid by insurance."""
    bill = MedicalBill(group="marginal", bill_total_fen=1_000_000, deductible_used_fen=stated)
    app = ApplicationFacts(medical=bill, medical_deductible_used_by_year=platform)
    result = assess("medical", household(person()), date(2026, 12, 7), application=app)
    assert (result.eligible, result.one_off_amount_fen) == (True, amount), result.reasons
    assert used in result.reasons


def test_a_medical_group_without_a_cap_ignores_what_was_paid() -> None:
    """320830 (seed 004): 特困 has no cap and no deductible, paid in full: (20000 − 10000) × 100% = 10000, whatever
    the platform approved this year."""
    bill = MedicalBill(group="tekun", bill_total_fen=2_000_000, basic_insurance_paid_fen=1_000_000)
    app = ApplicationFacts(medical=bill, medical_approved_by_year={2023: 9_000_000})
    result = assess("medical", household(person(), region=GAP), date(2023, 8, 1), application=app)
    assert result.one_off_amount_fen == 1_000_000 and "不设年度封顶线" in result.reasons


def test_rigid_expense_valid_for_twelve_months() -> None:
    a, b = person(), person(relation="child", birth_date=date(2005, 1, 1))
    snap = household(
        a, b, incomes=[wages(a, 160000)], rigid_expenses=[{"kind": "education", "amount_fen_12m": 1000000}]
    )
    result = assess_rigid_expense(snap, date(2024, 2, 29), WUQI, default_parameters())
    assert result.eligible
    assert result.valid_until == date(2025, 2, 28)


def test_disability_care_requires_care_need_where_region_says_so() -> None:
    params = default_parameters().with_value(
        "320830", "disability_care.by_grade", date(2023, 1, 1), {1: 12000, 2: 8000}, "test overlay"
    )
    independent = person(disability_grade=1, disability_category="physical")
    dependent = person(disability_grade=2, disability_category="physical", self_care=SelfCare(bathing=False))
    snap = household(independent, dependent, region=GAP)
    result = assess_disability_care(snap, JUNE, GAP, params)
    by_member: dict[UUID, bool] = {b.member_id: b.eligible for b in result.beneficiaries}
    assert by_member == {independent.member_id: False, dependent.member_id: True}
    assert result.monthly_amount_fen == 8000
    # 吴起 pays every grade 1–2 person (seed 000), care need or not.
    assert assess("disability_care", household(independent), JUNE).monthly_amount_fen == 12000


def test_admin_overlay_changes_outcome_from_its_start() -> None:
    params = default_parameters().with_value(
        "610626", "dibao.standard.rural", date(2024, 1, 1), {"per": "year", "fen": 660000}, "admin: 2024 提标"
    )
    a = person()
    snap = household(a, incomes=[wages(a, 52000)])
    assert not assess("dibao", snap, date(2023, 12, 31), params=params).eligible
    after = assess("dibao", snap, date(2024, 1, 1), params=params)
    assert after.eligible and after.monthly_amount_fen == 30000
    assert any(t.reference == "admin: 2024 提标" for t in after.trace)


def test_income_of_uncounted_member_ignored() -> None:
    a, b = person(), person(counted=False, not_counted_reason="服刑")
    snap = household(a, b, incomes=[wages(a, 100), wages(b, 5000)])
    assert counted_monthly_income_fen(snap) == 100


@pytest.mark.parametrize(("fen", "text"), [(0, "0.00元"), (5, "0.05元"), (123456, "1234.56元"), (-150, "-1.50元")])
def test_yuan_formatting(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_parameters_missing_for_region_raise() -> None:
    child = person(birth_date=date(2015, 1, 1))
    app = ApplicationFacts(orphan_member_ids=frozenset({child.member_id}))
    with pytest.raises(ParameterNotFound, match=r"orphan\.scattered"):
        assess("orphan", household(child, region=GAP), JUNE, application=app)


def test_tekun_decision_reads_like_dibao_conditions_standards_and_sum() -> None:
    elder = person(
        name="王老汉", birth_date=date(1948, 1, 1), has_capable_supporter=False, self_care=SelfCare(bathing=False)
    )
    result = assess("tekun", household(elder), JUNE)
    assert result.eligible and result.monthly_amount_fen == 96000
    line, total = result.reasons
    for part in (
        "王老汉",
        "无劳动能力: 75周岁, 老年人",
        "无生活来源",
        "无履行义务能力的法定义务人",
        "基本生活标准(当地标准)650.00元",
        "照料护理标准(半护理, 1项不能自理)310.00元",
        "= 960.00元",
    ):
        assert part in line, part
    assert total == "合计1人, 每月960.00元"


def test_every_person_level_decision_carries_reasons() -> None:
    child = person(name="小明", birth_date=date(2014, 1, 1), disability_grade=1, disability_category="physical")
    snap = household(person(), child)
    app = ApplicationFacts(
        orphan_member_ids=frozenset({child.member_id}),
        de_facto_orphan_member_ids=frozenset({child.member_id}),
        household_programmes={"dibao"},
    )
    for programme in ("orphan", "de_facto_orphan", "disability_living", "disability_care"):
        result = assess(programme, snap, JUNE, application=app)
        assert result.eligible, programme
        assert any(r.startswith("小明: ") for r in result.reasons) and result.reasons[-1].startswith("合计1人")


def test_tekun_basic_below_the_floor_is_paid_at_the_floor() -> None:
    # A run-time overlay (admin 提标 of 低保 without the 特困 standard) cannot pay less than 1.3 × 低保.
    params = default_parameters().with_value(
        "610626", "dibao.standard.rural", date(2024, 1, 1), {"per": "year", "fen": 660000}, "admin: 2024 提标"
    )
    elder = person(birth_date=date(1948, 1, 1), has_capable_supporter=False)
    result = assess("tekun", household(elder), date(2024, 2, 1), params=params)
    assert result.monthly_amount_fen == 71500 + 21000  # 6600 × 1.3 / 12 = 715 + 全自理 210
    assert "低于低保标准的1.3倍, 按1.3倍" in result.reasons[0]


def test_a_tekun_minor_keeps_support_until_18_and_longer_while_in_school() -> None:
    """民发〔2021〕43号: 未满16周岁 counts as 无劳动能力 for a first 认定; a minor already supported keeps it until 18,
    and past 18 while in school (domain.md: "Minors keep support until 18 or longer while in school")."""
    on = date(2026, 12, 1)

    def child(born: date, student: bool) -> HouseholdSnapshot:
        return household(person(birth_date=born, has_capable_supporter=False, student=student, relation="head"))

    supported = ApplicationFacts(already_supported=True)
    sixteen, nineteen = date(2010, 11, 20), date(2007, 6, 1)
    assert assess("tekun", child(sixteen, False), on).eligible is False  # a first 认定 at 16: able to work
    assert assess("tekun", child(sixteen, False), on, application=supported).eligible is True  # supported until 18
    assert assess("tekun", child(nineteen, False), on, application=supported).eligible is False  # 18 and out of school
    kept = assess("tekun", child(nineteen, True), on, application=supported)
    assert kept.eligible is True and any("在校" in r for r in kept.reasons)
    assert any(t.key == "tekun.labour.supported_minor_age" for t in kept.trace)


def _rent(fen: int, earner: MemberFacts | None = None) -> dict[str, object]:
    return {
        "member_id": earner.member_id if earner else None,
        "kind": "property",
        "subkind": "rent",
        "monthly_amount_fen": fen,
    }


def _elder(name: str, born: date = date(1948, 5, 1)) -> MemberFacts:
    return person(name=name, birth_date=born, labour_capacity="none", has_capable_supporter=False)


def test_a_one_person_households_income_with_no_earner_is_that_persons_for_tekun() -> None:
    """The county's case: one person (born 1948, no labour capacity, no capable supporter), rent of 2000 yuan a month
    recorded with no earner. The household is that person alone, so the rent is theirs: 2000 ≥ 吴起县's rural 低保
    standard of 6000 / 12 = 500 yuan → 有生活来源, not eligible (it was eligible at 860, "本人月收入0.00元"); named,
    the same."""
    elder = _elder("王老汉")
    unnamed = assess("tekun", household(elder, incomes=[_rent(200_000)]), date(2026, 12, 7))
    assert (unnamed.eligible, unnamed.monthly_amount_fen) == (False, 0), unnamed.reasons
    assert (
        "有生活来源: 本人月收入2000.00元 (含未指明收入人的收入2000.00元: 本户仅本人一人, 计为本人收入)"
        in unnamed.reasons[0]
    )
    named = assess("tekun", household(elder, incomes=[_rent(200_000, elder)]), date(2026, 12, 7))
    assert named.eligible is False and "有生活来源: 本人月收入2000.00元" in named.reasons[0]


def test_a_larger_households_income_with_no_earner_is_shared_among_its_members_for_tekun() -> None:
    """Two elderly people, nobody able to support them; an income with no earner is the household's: each counts
    their per-capita share as their own means (as the household's property is held against per-capita limits), and
    the reasons say so. Rent 2000 / 2 = 1000 ≥ 500 → 有生活来源; rent 600 / 2 = 300 < 500 → 无生活来源, 860 yuan
    (rural basic 7800 / 12 = 650 + 全自理 2520 / 12 = 210); her own 300 besides: 300 + 300 = 600 ≥ 500 → not."""
    wife, husband = _elder("王秀兰"), _elder("李建国", date(1946, 3, 1))
    applicant = ApplicationFacts(member_id=wife.member_id)
    on = date(2026, 12, 7)

    rich = assess("tekun", household(husband, wife, incomes=[_rent(200_000)]), on, application=applicant)
    assert rich.eligible is False, rich.reasons
    assert (
        "有生活来源: 本人月收入0.00元 + 未指明收入人的家庭收入2000.00元按共同生活家庭成员2人均摊1000.00元 = 1000.00元"
        in rich.reasons[0]
    )
    modest = assess("tekun", household(husband, wife, incomes=[_rent(60_000)]), on, application=applicant)
    assert (modest.eligible, modest.monthly_amount_fen) == (True, 86_000), modest.reasons
    shared = "本人月收入0.00元 + 未指明收入人的家庭收入600.00元按共同生活家庭成员2人均摊300.00元 = 300.00元"
    assert f"无生活来源: {shared}低于低保标准500.00元" in modest.reasons[0]
    own = household(husband, wife, incomes=[_rent(60_000), _rent(30_000, wife)])
    assert assess("tekun", own, on, application=applicant).eligible is False  # 300 + 300 = 600 ≥ 500
