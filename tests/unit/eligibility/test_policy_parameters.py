"""Parameter tree: loading, validation errors, inheritance by region prefix, dates, runtime values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.eligibility.policy.parameters import (
    SCHEMA,
    ParameterError,
    ParameterNotFound,
    ParameterSet,
    PeriodicMoney,
    PolicyLoadError,
    annual_to_monthly_fen,
    default_parameters,
    region_chain,
)


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


STANDARD_TREE = {
    "national.yaml": """
marginal:
  income_multiple:
    - {start: 2021-01-01, value: 1.5, reference: "N"}
""",
    "61.yaml": """
dibao:
  standard:
    rural:
      - {start: 2022-01-01, value: {per: month, fen: 40000}, reference: "province 2022"}
      - {start: 2023-01-01, value: {per: month, fen: 45000}, reference: "province 2023"}
""",
    "610626.yaml": """
dibao:
  standard:
    rural:
      - {start: 2023-07-01, value: {per: year, fen: 600000}, reference: "county from July"}
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> ParameterSet:
    for name, text in STANDARD_TREE.items():
        write(tmp_path, name, text)
    return ParameterSet.load(tmp_path)


def test_shipped_tree_loads_and_has_wuqi_figures() -> None:
    params = default_parameters()
    standard = params.at("dibao.standard.rural", date(2023, 6, 1), "610626101203")
    assert standard.value == PeriodicMoney("year", 600000)
    assert standard.source_region == "610626"
    assert "6000" in standard.reference
    assert params.at("temporary.county_approval_above_fen", date(2023, 6, 1), "610626").value == 2000000


def test_shipped_tier_placement_is_marked_as_assumption() -> None:
    tiers = default_parameters().at("dibao.tiers.rural", date(2023, 6, 1), "610626")
    assert "ASSUMPTION" in tiers.reference
    assert [t.amount_fen for t in tiers.value] == [50000, 45000, 40000, 35000, 30000]


def test_shipped_gap_county_standard_changes_on_1_july() -> None:
    params = default_parameters()
    assert params.at("dibao.standard.urban", date(2023, 6, 30), "320830").value.monthly_fen() == 45000
    assert params.at("dibao.standard.urban", date(2023, 7, 1), "320830").value.monthly_fen() == 49000


def test_national_value_inherited_by_county(tree: ParameterSet) -> None:
    value = tree.at("marginal.income_multiple", date(2023, 6, 1), "610626101203")
    assert value.value == Decimal("1.5")
    assert value.source_region == "national"


def test_county_overrides_province_from_its_start(tree: ParameterSet) -> None:
    after = tree.at("dibao.standard.rural", date(2023, 7, 1), "610626")
    assert after.source_region == "610626"
    assert after.value.monthly_fen() == 50000


def test_province_value_applies_before_county_starts(tree: ParameterSet) -> None:
    before = tree.at("dibao.standard.rural", date(2023, 6, 30), "610626")
    assert before.source_region == "61"
    assert before.value.monthly_fen() == 45000
    assert before.reference == "province 2023"


def test_latest_start_on_or_before_date_wins(tree: ParameterSet) -> None:
    assert tree.at("dibao.standard.rural", date(2022, 12, 31), "6106").value.fen == 40000
    assert tree.at("dibao.standard.rural", date(2023, 1, 1), "6106").value.fen == 45000


def test_sibling_county_does_not_inherit_from_other_county(tree: ParameterSet) -> None:
    assert tree.at("dibao.standard.rural", date(2023, 8, 1), "610625").source_region == "61"


def test_no_value_before_first_start(tree: ParameterSet) -> None:
    with pytest.raises(ParameterNotFound):
        tree.at("dibao.standard.rural", date(2021, 12, 31), "610626")


def test_unknown_key_lookup_rejected(tree: ParameterSet) -> None:
    with pytest.raises(ParameterNotFound, match="unknown parameter key"):
        tree.at("dibao.no_such_key", date(2023, 1, 1), "61")


def test_region_chain_orders_most_specific_first() -> None:
    assert region_chain("610626101203") == ("610626", "6106", "61", "national")
    assert region_chain("6106") == ("6106", "61", "national")
    with pytest.raises(ParameterError):
        region_chain("6a")


def test_end_date_lets_parent_value_apply_again(tmp_path: Path) -> None:
    write(tmp_path, "national.yaml", "orphan:\n  max_age:\n    - {start: 2010-01-01, value: 18, reference: N}\n")
    write(
        tmp_path,
        "610626.yaml",
        "orphan:\n  max_age:\n    - {start: 2023-01-01, end: 2023-06-30, value: 20, reference: trial}\n",
    )
    params = ParameterSet.load(tmp_path)
    assert params.at("orphan.max_age", date(2023, 6, 30), "610626").value == 20
    assert params.at("orphan.max_age", date(2023, 7, 1), "610626").value == 18


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "610626.yaml",
        "dibao:\n  standrad:\n    rural:\n      - {start: 2023-01-01, value: 1, reference: x}\n",
    )
    with pytest.raises(PolicyLoadError) as excinfo:
        ParameterSet.load(tmp_path)
    assert excinfo.value.source == "610626.yaml"
    assert excinfo.value.key == "dibao.standrad.rural"
    assert "610626.yaml" in str(excinfo.value) and "dibao.standrad.rural" in str(excinfo.value)


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (
            "- {start: 2023-01-01, value: 100, reference: a}\n      - {start: 2023-01-01, value: 200, reference: b}",
            "two values start",
        ),
        (
            "- {start: 2023-01-01, end: 2023-08-01, value: 100, reference: a}\n"
            "      - {start: 2023-07-01, value: 200, reference: b}",
            "overlaps",
        ),
    ],
    ids=["duplicate-start", "overlapping-end"],
)
def test_conflicting_dates_name_file_and_key(tmp_path: Path, values: str, why: str) -> None:
    write(tmp_path, "61.yaml", f"dibao:\n  classified:\n    elderly_fen:\n      {values}\n")
    with pytest.raises(PolicyLoadError, match=why) as excinfo:
        ParameterSet.load(tmp_path)
    assert (excinfo.value.source, excinfo.value.key) == ("61.yaml", "dibao.classified.elderly_fen")
    assert str(excinfo.value).startswith("61.yaml: dibao.classified.elderly_fen: ")


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("dibao.classified.elderly_fen", 12.5, "integer amount in fen"),
        ("dibao.classified.elderly_fen", -1, ">= 0"),
        ("dibao.mode.rural", "tiered", "expected one of"),
        ("dibao.standard.rural", "{per: week, fen: 1}", "per must be month or year"),
        ("disability_care.requires_care_need", "yes please", "true or false"),
        ("disability_care.by_grade", "{5: 100}", "grade must be 1-4"),
        (
            "dibao.tiers.rural",
            "[{income_below_fen: null, amount_fen: 1}, {income_below_fen: 5, amount_fen: 1}]",
            "only the last tier",
        ),
        (
            "dibao.tiers.rural",
            "[{income_below_fen: 9, amount_fen: 1}, {income_below_fen: 5, amount_fen: 1}]",
            "strictly increasing",
        ),
    ],
)
def test_badly_typed_values_rejected(tmp_path: Path, key: str, value: object, problem: str) -> None:
    head, *rest = key.split(".")
    nested = "".join(f"{'  ' * (i + 1)}{part}:\n" for i, part in enumerate(rest))
    indent = "  " * (len(rest) + 1)
    text = f"{head}:\n{nested}{indent}- start: 2023-01-01\n{indent}  value: {value}\n{indent}  reference: r\n"
    write(tmp_path, "610626.yaml", text)
    with pytest.raises(PolicyLoadError, match=problem) as excinfo:
        ParameterSet.load(tmp_path)
    assert excinfo.value.key is not None and excinfo.value.key.startswith(key)


def test_missing_reference_rejected(tmp_path: Path) -> None:
    write(tmp_path, "61.yaml", "orphan:\n  max_age:\n    - {start: 2023-01-01, value: 18}\n")
    with pytest.raises(PolicyLoadError, match="start, value and reference"):
        ParameterSet.load(tmp_path)


def test_bad_file_name_rejected(tmp_path: Path) -> None:
    write(tmp_path, "shaanxi.yaml", "")
    with pytest.raises(PolicyLoadError, match=r"shaanxi\.yaml"):
        ParameterSet.load(tmp_path)


def test_with_value_adds_runtime_value_without_mutating(tree: ParameterSet) -> None:
    newer = tree.with_value(
        "610626", "dibao.standard.rural", date(2024, 1, 1), {"per": "year", "fen": 660000}, "admin: 2024 rise"
    )
    assert newer.at("dibao.standard.rural", date(2024, 1, 1), "610626").value.fen == 660000
    assert newer.at("dibao.standard.rural", date(2023, 12, 31), "610626").value.fen == 600000
    assert tree.at("dibao.standard.rural", date(2024, 1, 1), "610626").value.fen == 600000


def test_with_value_validates_key_value_and_dates(tree: ParameterSet) -> None:
    with pytest.raises(ParameterError, match="unknown parameter key"):
        tree.with_value("610626", "dibao.nope", date(2024, 1, 1), 1, "r")
    with pytest.raises(ParameterError, match="integer amount"):
        tree.with_value("610626", "dibao.classified.elderly_fen", date(2024, 1, 1), 1.5, "r")
    with pytest.raises(ParameterError, match="two values start"):
        tree.with_value("610626", "dibao.standard.rural", date(2023, 7, 1), {"per": "year", "fen": 1}, "r")
    with pytest.raises(ParameterError, match="reference"):
        tree.with_value("610626", "dibao.classified.elderly_fen", date(2024, 1, 1), 1, " ")


@pytest.mark.parametrize(("annual", "monthly"), [(600000, 50000), (816000, 68000), (100, 8), (102, 9), (6, 1)])
def test_annual_to_monthly_rounds_half_up(annual: int, monthly: int) -> None:
    assert annual_to_monthly_fen(annual) == monthly


def test_every_shipped_key_is_in_schema() -> None:
    params = default_parameters()
    for region in params.regions():
        assert params.keys(region) <= set(SCHEMA)
    assert {"national", "610626", "320830"} <= params.regions()


def _tekun_tree(directory: Path, county: str) -> None:
    write(
        directory,
        "national.yaml",
        """
tekun:
  basic_multiple_of_dibao:
    - {start: 2021-04-26, value: 1.3, reference: "N: 1.3 × 低保"}
""",
    )
    write(directory, "610626.yaml", county)


def test_tekun_basic_below_the_national_floor_is_refused_at_load(tmp_path: Path) -> None:
    # 1.3 × 6000 = 7800 yuan a year: 7799 is one yuan short (吴起县 ships exactly 7800, seed 000).
    _tekun_tree(
        tmp_path,
        """
dibao:
  standard:
    rural:
      - {start: 2023-01-01, value: {per: year, fen: 600000}, reference: "seed 000"}
tekun:
  basic:
    rural:
      - {start: 2023-01-01, value: {per: year, fen: 779900}, reference: "typo"}
""",
    )
    with pytest.raises(PolicyLoadError, match=r"610626\.yaml: tekun\.basic\.rural: .*below the national floor"):
        ParameterSet.load(tmp_path)


def test_tekun_floor_is_checked_again_when_the_dibao_standard_rises(tmp_path: Path) -> None:
    # 提标 of 低保 on 2024-01-01 to 6600 puts the floor at 8580, above the county's unchanged 7800.
    _tekun_tree(
        tmp_path,
        """
dibao:
  standard:
    rural:
      - {start: 2023-01-01, value: {per: year, fen: 600000}, reference: "seed 000"}
      - {start: 2024-01-01, value: {per: year, fen: 660000}, reference: "提标"}
tekun:
  basic:
    rural:
      - {start: 2023-01-01, value: {per: year, fen: 780000}, reference: "seed 000"}
""",
    )
    with pytest.raises(PolicyLoadError, match="2024-01-01 is below the national floor"):
        ParameterSet.load(tmp_path)
    # Raising the 特困 standard with it loads.
    _tekun_tree(
        tmp_path,
        (tmp_path / "610626.yaml").read_text(encoding="utf-8")
        + """
      - {start: 2024-01-01, value: {per: year, fen: 858000}, reference: "提标 with 低保"}
""",
    )
    assert ParameterSet.load(tmp_path).at("tekun.basic.rural", date(2024, 1, 1), "610626").value.fen == 858000


def test_programme_lists_are_dated_parameters_with_their_reference() -> None:
    params = default_parameters()
    appraisal = params.at("procedure.democratic_appraisal_programmes", date(2023, 6, 1), "610626")
    assert appraisal.value == {"dibao", "marginal"} and "57号" in appraisal.reference
    assert params.at("exit.gradual_programmes", date(2023, 6, 1), "610626").value == {"dibao"}
    with pytest.raises(ParameterError, match="expected a list drawn from"):
        params.with_value("610626", "exit.gradual_programmes", date(2024, 1, 1), ["dibao", "moon"], "test")


def test_democratic_appraisal_cites_what_it_rests_on_not_seed_000() -> None:
    value = default_parameters().history("procedure.democratic_appraisal_required", "610626")[0]
    assert "57号" in value.reference and "OUR ASSUMPTION" in value.reference
    assert "seed 000 never mentions" in value.reference


def test_wuqi_medical_parameters_exist_for_every_group() -> None:
    params = default_parameters()
    for group in ("dibao", "tekun", "marginal", "returned_poverty", "illness_poverty"):
        for key in (f"medical.ratio.{group}", f"medical.deductible.{group}", f"medical.annual_cap.{group}"):
            value = params.at(key, date(2023, 8, 1), "610626101203")
            assert value.source_region in ("610626", "national"), key
    dibao = params.at("medical.ratio.dibao", date(2023, 8, 1), "610626")
    assert dibao.value >= Decimal("0.7") and dibao.source_region == "national"
    assert "OUR ASSUMPTION" in params.at("medical.ratio.marginal", date(2023, 8, 1), "610626").reference
