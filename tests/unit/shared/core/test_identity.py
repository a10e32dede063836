import re
from dataclasses import FrozenInstanceError
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.core.identity import (
    InvalidResidentId,
    ResidentId,
    ResidentIdStr,
    check_character,
    id_fingerprint,
    mask_name,
    mask_resident_id,
    parse_resident_id,
)

SECRET = b"0123456789abcdef-test-secret"


def reference_check(first17: str) -> str:
    """Independent implementation of GB 11643 ISO 7064 MOD 11-2: weight_i = 2^(17-i) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(first17: str) -> str:
    return first17 + reference_check(first17)


# --- parse_resident_id: valid numbers ---


def test_known_valid_number_with_x_check_character() -> None:
    rid = parse_resident_id("11010519491231002X")
    assert rid == ResidentId(
        number="11010519491231002X", address_code="110105", birth_date=date(1949, 12, 31), sex="female"
    )


def test_standard_example_from_1880_has_a_valid_check_but_is_refused_as_before_1900() -> None:
    # GB 11643's classic example: the check character is right, but no applicant can be born before 1900.
    assert check_character("44052418800101001") == "4" == reference_check("44052418800101001")
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id("440524188001010014")
    assert info.value.reason == "the birth date in the number is before 1900"


def test_known_valid_male_number() -> None:
    number = make_id("44052419800101001")
    rid = parse_resident_id(number)
    assert (rid.number, rid.address_code, rid.sex) == (number, "440524", "male")
    assert rid.birth_date == date(1980, 1, 1)


def test_lowercase_x_and_surrounding_spaces_are_normalised() -> None:
    assert parse_resident_id(" 11010519491231002x\n").number == "11010519491231002X"


@pytest.mark.parametrize(
    "first17",
    ["61062619800101123", "61062620000229002", "61062619900715456", "61062619551111000", "61062620231231998"],
)
def test_numbers_built_with_independent_check_are_accepted(first17: str) -> None:
    number = make_id(first17)
    assert check_character(first17) == number[-1] == reference_check(first17)
    assert parse_resident_id(number, today=date(2024, 1, 1)).number == number


def test_sex_comes_from_the_parity_of_the_17th_digit() -> None:
    assert parse_resident_id(make_id("61062619800101123")).sex == "male"
    assert parse_resident_id(make_id("61062619800101124")).sex == "female"


def test_result_is_frozen() -> None:
    rid = parse_resident_id("11010519491231002X")
    with pytest.raises(FrozenInstanceError):
        rid.number = "x"  # type: ignore[misc]


def test_age_on_counts_whole_years() -> None:
    rid = parse_resident_id(make_id("61062619640301123"))
    assert rid.age_on(date(2024, 2, 29)) == 59
    assert rid.age_on(date(2024, 3, 1)) == 60


# --- parse_resident_id: rejections with precise reasons ---


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must be 18 characters, got 0"),
        ("11010519491231002", "must be 18 characters, got 17"),
        ("11010519491231002X1", "must be 18 characters, got 19"),
        ("110105491231002", "must be 18 characters, got 15 (15-digit first-generation numbers"),
    ],
)
def test_wrong_length(value: str, reason: str) -> None:
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(value)
    assert info.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1101051949123100AX", "the first 17 characters must be digits 0-9"),
        ("11010519491231００2X", "the first 17 characters must be digits 0-9"),  # full-width digits
        ("110105 9491231002X", "the first 17 characters must be digits 0-9"),
        ("11010519491231002Y", "the last character must be a digit 0-9 or X"),
    ],
)
def test_non_digit_characters(value: str, reason: str) -> None:
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(value)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("first17", "reason"),
    [
        ("61062619990230123", "the birth date in the number is not a calendar date"),
        ("61062620230229123", "the birth date in the number is not a calendar date"),
        ("61062619801301123", "the birth date in the number is not a calendar date"),
        ("61062600000101123", "the birth date in the number is not a calendar date"),
        ("61062618991231123", "the birth date in the number is before 1900"),
        ("61062620240102123", "the birth date in the number is in the future"),
    ],
)
def test_impossible_birth_dates(first17: str, reason: str) -> None:
    # A correct check character, so the birth date is the only fault.
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(make_id(first17), today=date(2024, 1, 1))
    assert info.value.reason == reason


# Every kind of fault, twice over with different digits: the reason is shown in 422s and stored in feed error
# reports and roll-import issues, so it must say what is wrong and hold no digit of the number.
_FAULTS = {
    "length": ("6106261980010112", "1101051949123"),
    "15 digits": ("610626800101123", "110105491231002"),
    "not digits": ("61062619800101A23" + "4", "1101051949123100BX"),
    "full-width digits": ("6106261980０１０１１２３4", "11010519491231００2X"),
    "last character": ("61062619800101123Y", "11010519491231002Z"),
    "province": (make_id("99062619800101123"), make_id("00010519491231002")),
    "calendar date": (make_id("61062619620230123"), make_id("11010519871301002")),
    "before 1900": (make_id("61062618991231123"), make_id("11010518500607002")),
    "future": (make_id("61062620990101123"), make_id("11010520240102002")),
    "check character": ("610626198001011230", "110105194912310021"),
}


@pytest.mark.parametrize("kind", sorted(_FAULTS))
def test_no_reason_echoes_any_digit_of_the_number(kind: str) -> None:
    reasons = []
    for value in _FAULTS[kind]:
        with pytest.raises(InvalidResidentId) as info:
            parse_resident_id(value, today=date(2024, 1, 1))
        reason = info.value.reason
        # The only digits a reason holds are its own fixed text's (18 characters, 17 digits 0-9, first 6 digits,
        # 1900) or the length received — never a run of the number's digits (the birth date, the address code, …).
        fixed = {"18", "17", "15", "6", "0", "9", "1900", str(len(value.strip()))}
        assert set(re.findall(r"\d+", reason)) <= fixed, reason
        reasons.append(reason.replace(str(len(value.strip())), "N"))
    assert reasons[0] == reasons[1]  # the same fault, the same words, whatever the digits


def test_birth_today_is_accepted() -> None:
    rid = parse_resident_id(make_id("61062620240101123"), today=date(2024, 1, 1))
    assert rid.birth_date == date(2024, 1, 1)


def test_future_check_defaults_to_the_real_today() -> None:
    with pytest.raises(InvalidResidentId, match="in the future"):
        parse_resident_id(make_id("61062620990101123"))


def test_wrong_check_character_does_not_reveal_the_expected_one() -> None:
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id("110105194912310021")
    assert info.value.reason == "the check character does not match"
    assert "X" not in str(info.value)


def test_every_wrong_check_character_is_rejected() -> None:
    first17 = "61062619800101123"
    good = reference_check(first17)
    for wrong in (c for c in "0123456789X" if c != good):
        with pytest.raises(InvalidResidentId, match="check character"):
            parse_resident_id(first17 + wrong)


def test_invalid_resident_id_is_a_value_error() -> None:
    assert issubclass(InvalidResidentId, ValueError)


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        check_character("1234")


# --- masking ---


def test_mask_resident_id_keeps_first_6_and_last_4() -> None:
    assert mask_resident_id("61062619800101123X") == "610626********123X"
    assert mask_resident_id("11010519491231002x") == "110105********002X"


def test_mask_resident_id_never_leaks_more_for_malformed_values() -> None:
    assert mask_resident_id("1234567890") == "**********"
    assert mask_resident_id("") == ""
    assert mask_resident_id("110105491231002") == "110105*****1002"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张", "*"),  # a one-character name shown as is would be the whole name
        ("张三", "张*"),
        ("王五", "王*"),
        ("张三明", "张*明"),
        ("欧阳小明", "欧**明"),
        (" 李四 ", "李*"),
        ("买·力", "买*力"),
        ("买•力", "买*力"),
        ("买买提·艾力", "买****力"),
        ("阿不都·热合曼", "阿*****曼"),
        ("Li Na", "L***a"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


_SEPARATORS = "·•・. -'"
_NAME_LETTERS = st.sampled_from("张王李赵买提艾力阿不都热合曼欧阳小明〇𠀀AbcÉéxyz")


@st.composite
def _names(draw: st.DrawFn) -> str:
    """1–20 characters: parts of letters, joined by one of the separators a name may hold (or a look-alike)."""
    parts = draw(st.lists(st.text(_NAME_LETTERS, min_size=1, max_size=8), min_size=1, max_size=4))
    seps = draw(st.lists(st.sampled_from(_SEPARATORS), min_size=len(parts) - 1, max_size=len(parts) - 1))
    name = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
    return name[:20].strip()  # a name is stored without surrounding spaces


@given(_names())
@settings(max_examples=500, deadline=None)
def test_a_masked_name_is_never_the_name_nor_shows_a_given_name_in_full(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked != name
    assert "*" in masked
    # The Chinese convention: the first character kept, the last (of three or more) kept, everything between masked
    # — the separators too, so a transliterated name's parts are not laid out.
    assert masked[0] == (name[0] if len(name) > 1 else "*")
    assert set(masked[1:-1]) <= {"*"}
    # No given name is shown in full: not a Chinese name's after its surname character, nor any part of two or
    # more characters of a transliterated or Latin name.
    if len(name) >= 2:
        assert masked[1:] != name[1:]
    if len(name) >= 3:
        assert name[1:] not in masked
    for part in re.split(f"[{re.escape(_SEPARATORS)}]", name):
        if len(part) >= 2:
            assert part not in masked


# --- fingerprint ---


def test_fingerprint_is_hmac_sha256_hex_and_stable_across_case() -> None:
    upper = id_fingerprint("11010519491231002X", SECRET)
    assert upper == id_fingerprint(" 11010519491231002x", SECRET)
    assert len(upper) == 64 and all(c in "0123456789abcdef" for c in upper)
    assert "11010519491231002X" not in upper


def test_fingerprint_depends_on_secret_and_number() -> None:
    base = id_fingerprint("11010519491231002X", SECRET)
    assert base != id_fingerprint("11010519491231002X", SECRET + b"2")
    assert base != id_fingerprint("440524188001010014", SECRET)


def test_fingerprint_known_value() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET, b"440524188001010014", hashlib.sha256).hexdigest()
    assert id_fingerprint("440524188001010014", SECRET) == expected


def test_fingerprint_rejects_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        id_fingerprint("440524188001010014", b"short")


# --- pydantic / FastAPI ---


class Applicant(BaseModel):
    id_number: ResidentIdStr


def test_pydantic_field_normalises_to_uppercase() -> None:
    assert Applicant(id_number="11010519491231002x").id_number == "11010519491231002X"


def test_pydantic_error_names_the_field_and_reason() -> None:
    with pytest.raises(ValidationError) as info:
        Applicant(id_number="110105194912310021")
    (error,) = info.value.errors()
    assert error["loc"] == ("id_number",)
    assert error["type"] == "value_error"
    assert "the check character does not match" in error["msg"]


def test_json_schema_documents_the_format() -> None:
    schema = Applicant.model_json_schema()["properties"]["id_number"]
    assert schema["pattern"] == "^[0-9]{17}[0-9Xx]$"
    assert schema["minLength"] == schema["maxLength"] == 18


def test_fastapi_answers_422_naming_the_field() -> None:
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    app = fastapi.FastAPI()

    @app.post("/applicants")
    def create(applicant: Applicant) -> dict[str, str]:
        return {"id_number": applicant.id_number}

    client = TestClient(app)
    ok = client.post("/applicants", json={"id_number": "11010519491231002x"})
    assert ok.status_code == 200
    assert ok.json() == {"id_number": "11010519491231002X"}

    bad = client.post("/applicants", json={"id_number": "19990230"})
    assert bad.status_code == 422
    (detail,) = bad.json()["detail"]
    assert detail["loc"] == ["body", "id_number"]
    assert "must be 18 characters, got 8" in detail["msg"]


def test_the_bulk_fingerprinter_gives_the_same_digests():
    from shared.core.identity import fingerprinter

    # The bulk path spells HMAC out itself: keys shorter than, as long as, and longer than SHA-256's 64-byte block.
    for key in (b"0123456789abcdef-test", bytes(range(64)), b"k" * 100):
        fingerprint = fingerprinter(key)
        for number in ("11010519491231002X", " 11010519491231002x ", "610626194001010015"):
            assert fingerprint(number) == id_fingerprint(number, key)
    with pytest.raises(ValueError):
        fingerprinter(b"short")


# --- the address code: GB 11643's first six digits are a division code, its first two a province ---


@pytest.mark.parametrize("area", ["000000", "001234", "100105", "190000", "240101", "550101", "700000", "990000"])
def test_an_address_code_of_no_province_is_refused_without_echoing_the_number(area: str) -> None:
    number = make_id(f"{area}19800101123")
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(number, today=date(2024, 1, 1))
    assert "province" in info.value.reason
    assert area not in info.value.reason and number not in str(info.value)


@pytest.mark.parametrize(
    "area",
    [
        "110105",  # 北京市朝阳区
        "650102",  # 乌鲁木齐市天山区
        "610622",  # 延长县 as 陕西 numbered it: a county code since changed still issued valid IDs
        "612601",  # 延安地区 (abolished 1996)
        "710000",  # 台湾省
        "810000",  # 香港: 港澳台居民居住证
        "820000",  # 澳门
        "830000",  # 台湾居民居住证
    ],
)
def test_any_address_code_under_a_province_is_accepted(area: str) -> None:
    number = make_id(f"{area}19800101123")
    assert parse_resident_id(number, today=date(2024, 1, 1)).address_code == area
