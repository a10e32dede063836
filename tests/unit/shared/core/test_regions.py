import shutil
from pathlib import Path

import pytest

from shared.core.regions import (
    DEFAULT_DIRECTORY,
    InvalidRegionCode,
    Region,
    RegionTable,
    UnknownRegionCode,
    is_within,
    region_chain,
)


@pytest.fixture(scope="module")
def table() -> RegionTable:
    return RegionTable.load()


def copy_tables(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("provinces.csv", "cities.csv", "areas.csv", "streets.csv"):
        shutil.copy(DEFAULT_DIRECTORY / name, target / name)
    return target


def write_small_tables(target: Path) -> Path:
    """A tiny hand-made directory so loader errors can be provoked cheaply."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "provinces.csv").write_text('code,name\n61,"陕西省"\n', encoding="utf-8")
    (target / "cities.csv").write_text('code,name,provinceCode\n6106,"延安市",61\n', encoding="utf-8")
    (target / "areas.csv").write_text('code,name,cityCode,provinceCode\n610626,"吴起县",6106,61\n', encoding="utf-8")
    (target / "streets.csv").write_text(
        'code,name,areaCode,provinceCode,cityCode\n610626101,"铁边城镇",610626,61,6106\n', encoding="utf-8"
    )
    return target


# --- shipped data ---


def test_shipped_tables_match_the_nbs_2023_counts(table: RegionTable) -> None:
    lengths = [len(code) for code in table.regions]
    assert {n: lengths.count(n) for n in (2, 4, 6, 9)} == {2: 31, 4: 342, 6: 2978, 9: 41352}
    assert (DEFAULT_DIRECTORY / "README.md").read_text(encoding="utf-8").count("modood") == 1


def test_names_at_every_level(table: RegionTable) -> None:
    names = [table.name(code) for code in region_chain("610626101")]
    assert names == ["陕西省", "延安市", "吴起县", "铁边城镇"]
    assert table.name("110101001") == "东华门街道"


def test_is_known(table: RegionTable) -> None:
    assert all(table.is_known(code) for code in ("61", "6106", "610626", "610626001", "610626108"))
    assert not table.is_known("610699")
    assert not table.is_known("610626109")
    assert not table.is_known("00")
    assert not table.is_known("610626101203")  # villages are only "known" when listed in villages.csv


def test_unknown_and_malformed_names_raise(table: RegionTable) -> None:
    with pytest.raises(UnknownRegionCode, match="610699"):
        table.name("610699")
    with pytest.raises(InvalidRegionCode, match="must have 2, 4, 6, 9 or 12 digits"):
        table.name("61062")
    with pytest.raises(InvalidRegionCode, match="must be digits"):
        table.name("61O626")


def test_parent_links(table: RegionTable) -> None:
    assert table.get("610626101") == Region(code="610626101", name="铁边城镇", parent_code="610626")
    assert table.get("61").parent_code is None
    assert table.get("610626101").level == 3


def test_townships_of_the_demo_county(table: RegionTable) -> None:
    townships = table.townships("610626")
    assert [t.code for t in townships] == ["610626001"] + [f"610626{n}" for n in range(101, 109)]
    assert townships[0].name == "吴起街道"
    assert townships[-1].name == "庙沟镇"


def test_townships_requires_a_known_county(table: RegionTable) -> None:
    with pytest.raises(UnknownRegionCode):
        table.townships("610699")
    with pytest.raises(InvalidRegionCode, match="6 digits"):
        table.townships("6106")


def test_load_is_cached() -> None:
    assert RegionTable.load() is RegionTable.load(DEFAULT_DIRECTORY)
    assert RegionTable.load() is RegionTable.load(str(DEFAULT_DIRECTORY))


# --- village codes ---


@pytest.mark.parametrize("code", ["610626101001", "610626101199", "610626101203", "610626001399"])
def test_village_codes_under_a_known_township_are_accepted(table: RegionTable, code: str) -> None:
    assert table.validate_village_code(code) == code


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("61062610120", "must have 12 digits, not 11"),
        ("6106261012030", "must have 12 digits, not 13"),
        ("61062610120a", "must be digits 0-9"),
        ("", "must be digits 0-9"),
        ("610626109203", "township 610626109 is not a known township"),
        ("610626101000", "last 3 digits 000 must be 001-199 (居委会) or 200-399 (村委会)"),
        ("610626101400", "last 3 digits 400 must be 001-199 (居委会) or 200-399 (村委会)"),
    ],
)
def test_village_code_errors_say_why(table: RegionTable, code: str, message: str) -> None:
    with pytest.raises(InvalidRegionCode) as info:
        table.validate_village_code(code)
    assert message in str(info.value)


# --- optional villages.csv ---


def test_optional_villages_file_adds_names(tmp_path: Path) -> None:
    directory = copy_tables(tmp_path / "regions")
    (directory / "villages.csv").write_text(
        "code,name,townshipCode\n"
        '610626101203,"张湾子村",610626101\n'
        '610626101201,"铁边城村",610626101\n'
        '610626001001,"南关社区",610626001\n',
        encoding="utf-8",
    )
    table = RegionTable.load(directory)
    assert table.name("610626101203") == "张湾子村"
    assert table.is_known("610626101203")
    assert [v.code for v in table.villages("610626101")] == ["610626101201", "610626101203"]
    assert table.villages("610626102") == []
    assert table.get("610626101203").parent_code == "610626101"
    assert table.get("610626101203").level == 4
    # Listing some villages does not make unlisted ones invalid.
    assert table.validate_village_code("610626101250") == "610626101250"


def test_without_villages_file_no_village_is_named(table: RegionTable) -> None:
    assert table.villages("610626101") == []
    with pytest.raises(UnknownRegionCode):
        table.name("610626101203")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('610626102203,"某村",610626101', "villages.csv line 2: parent '610626101' of 610626102203"),
        ('610626109203,"某村",610626109', "villages.csv line 2: parent '610626109' of 610626109203"),
        ('61062610120,"某村",610626101', "villages.csv line 2: code '61062610120' must be 12 digits"),
        ('610626101203,"",610626101', "villages.csv line 2: code 610626101203 has no name"),
        ('610626101000,"某村",610626101', "last 3 digits 000"),
    ],
)
def test_bad_village_rows_are_rejected_with_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    directory = write_small_tables(tmp_path)
    (directory / "villages.csv").write_text(f"code,name,townshipCode\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        RegionTable.load(directory)
    assert message in str(info.value)


def test_duplicate_and_missing_columns_are_rejected(tmp_path: Path) -> None:
    directory = write_small_tables(tmp_path / "dup")
    (directory / "villages.csv").write_text(
        'code,name,townshipCode\n610626101203,"甲村",610626101\n610626101203,"乙村",610626101\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="line 3: duplicate code 610626101203"):
        RegionTable.load(directory)

    directory = write_small_tables(tmp_path / "cols")
    (directory / "villages.csv").write_text('code,name\n610626101203,"甲村"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        RegionTable.load(directory)


def test_small_directory_loads_with_byte_order_mark(tmp_path: Path) -> None:
    directory = write_small_tables(tmp_path)
    (directory / "villages.csv").write_text(
        'code,name,townshipCode\n610626101203,"张湾子村",610626101\n', encoding="utf-8-sig"
    )
    table = RegionTable.load(directory)
    assert table.name("610626101203") == "张湾子村"
    assert len(table.regions) == 5


# --- region_chain / is_within ---


def test_region_chain() -> None:
    assert region_chain("610626101203") == ["61", "6106", "610626", "610626101", "610626101203"]
    assert region_chain("610626") == ["61", "6106", "610626"]
    assert region_chain("61") == ["61"]


@pytest.mark.parametrize("code", ["", "6", "61062", "6106261012", "61062610120x", "00", "061062"])
def test_region_chain_rejects_malformed_codes(code: str) -> None:
    with pytest.raises(InvalidRegionCode):
        region_chain(code)


@pytest.mark.parametrize(
    ("code", "scope", "inside"),
    [
        ("610626101203", "610626", True),
        ("610626", "610626", True),
        ("610626101", "61", True),
        ("610626101203", "", True),  # '' is the national scope
        ("61", "", True),
        ("610627001", "610626", False),
        ("6106", "610626", False),  # a county user does not see the prefecture
        ("110101001", "61", False),
    ],
)
def test_is_within(code: str, scope: str, inside: bool) -> None:
    assert is_within(code, scope) is inside


@pytest.mark.parametrize(
    ("code", "scope"),
    [("610626101", "00"), ("610626101", "61062"), ("610626101", "6"), ("", "61"), ("61062", "61")],
)
def test_is_within_fails_closed_on_malformed_input(code: str, scope: str) -> None:
    with pytest.raises(InvalidRegionCode):
        is_within(code, scope)
