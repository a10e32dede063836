"""The roll file's rows checked one by one (存量对象导入): every column's rule, the household's rows agreeing, and the
reader's file-level refusals; a problem names the column and never repeats the ID number."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest
from openpyxl import Workbook

from services.intake.roll_import import domain, reader
from shared.core.household import SelfCare
from shared.core.identity import fingerprinter
from shared.core.regions import RegionTable
from tests.helpers import resident_id

TODAY = date(2026, 12, 6)


@pytest.fixture(scope="module")
def ctx() -> domain.RowContext:
    return domain.RowContext(
        regions=RegionTable.load(), scope="610626", today=TODAY, fingerprint=fingerprinter(b"k" * 32)
    )


def row(**changes: str) -> dict[str, str]:
    base = {
        "household_ref": "WQ1",
        "region_code": "610626101201",
        "hukou": "农村",
        "address": "铁边城镇一组",
        "name": "王秀英",
        "id_number": resident_id("19560312", False),
        "relation": "户主",
        "covered": "是",
        "programme": "低保",
        "approved_on": "2024-03-15",
        "monthly_amount": "520.50",
        "persons": "1",
        "bank_name": "吴起农村商业银行",
        "account_holder": "王秀英",
        "account_number": "6217000011112222",
    }
    return {**base, **changes}


def test_a_good_row_is_parsed_to_what_intake_stores(ctx) -> None:
    number = resident_id("19560312", False)
    parsed = domain.parse_row(7, row(id_number=number, monthly_income="1,234.5", labour_capacity="无劳动能力"), ctx)
    assert parsed.line == 7 and parsed.relation == "head" and parsed.sex == "female"
    assert parsed.birth_date == date(1956, 3, 12)
    assert parsed.income_fen == 123_450
    assert parsed.facts["labour_capacity"] == "none"
    assert parsed.id_fingerprint == ctx.fingerprint(number)
    assert parsed.household == {
        "region_code": "610626101201",
        "hukou": "rural",
        "address": "铁边城镇一组",
        "programme": "dibao",
        "approved_on": date(2024, 3, 15),
        "monthly_amount_fen": 52_050,
        "persons": 1,
        "bank_name": "吴起农村商业银行",
        "account_holder": "王秀英",
    }
    assert parsed.account_number == "6217000011112222"


def test_household_columns_may_be_blank_on_later_rows(ctx) -> None:
    blank = {k: "" for k in domain.HOUSEHOLD_KEYS}
    parsed = domain.parse_row(8, row(**blank, relation="配偶", covered="否"), ctx)
    assert parsed.household == {} and parsed.account_number is None and parsed.covered is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id_number": "610626195603120000"}, "id_number"),
        ({"id_number": ""}, "id_number"),
        ({"household_ref": ""}, "household_ref"),
        ({"name": "=HYPERLINK(1)"}, "name"),
        ({"relation": "邻居"}, "relation"),
        ({"sex": "男"}, "sex"),
        ({"birth_date": "1956-03-13"}, "birth_date"),
        ({"region_code": "610626101"}, "region_code"),
        ({"region_code": "610625100201"}, "region_code"),
        ({"hukou": "外籍"}, "hukou"),
        ({"programme": "临时救助"}, "programme"),
        ({"approved_on": "2024-13-01"}, "approved_on"),
        ({"approved_on": "2027-01-01"}, "approved_on"),
        ({"monthly_amount": "520.555"}, "monthly_amount"),
        ({"monthly_amount": "-5"}, "monthly_amount"),
        ({"monthly_amount": "五百"}, "monthly_amount"),
        ({"persons": "0"}, "persons"),
        ({"covered": ""}, "covered"),
        ({"covered": "也许"}, "covered"),
        ({"account_number": "62170000"}, "account_number"),
        ({"disability_grade": "2"}, "disability_category"),
        ({"disability_category": "肢体"}, "disability_grade"),
        ({"labour_capacity": "很强"}, "labour_capacity"),
        ({"address": "一组\x07"}, "address"),
        ({"self_care": "较差"}, "self_care"),
        ({"self_care": "7"}, "self_care"),
        ({"self_care": "-1"}, "self_care"),
        ({"name": "王" * 51}, "name"),
        ({"name": "王" * 150}, "name"),
        ({"account_holder": "王" * 51}, "account_holder"),
        ({"bank_name": "银" * 101}, "bank_name"),
        ({"address": "一" * 201}, "address"),
        ({"household_ref": "W" * 65}, "household_ref"),
    ],
)
def test_a_bad_column_is_named_without_the_id_number(ctx, changes, field) -> None:
    values = row(**changes)
    with pytest.raises(domain.RowProblem) as caught:
        domain.parse_row(3, values, ctx)
    assert caught.value.field == field
    assert values["id_number"] not in caught.value.message or not values["id_number"]


def test_a_name_is_taken_up_to_the_front_desks_length_and_refused_beyond_it(ctx) -> None:
    fifty = "买买提·" + "艾" * 46
    parsed = domain.parse_row(3, row(name=fifty, account_holder=fifty), ctx)
    assert parsed.name == parsed.household["account_holder"] == fifty
    for field in ("name", "account_holder"):
        with pytest.raises(domain.RowProblem) as caught:
            domain.parse_row(3, row(**{field: fifty + "艾"}), ctx)
        assert (caught.value.field, caught.value.message) == (field, "must be 1–50 characters")


def _length(column) -> int | None:
    return getattr(column.property.columns[0].type, "length", None)


def test_no_text_the_import_takes_is_longer_than_the_front_desk_takes_or_its_columns_hold() -> None:
    """Each free-text column's limit is the front desk's, and fits every column it is written to (a longer one
    failed the staging COPY with a 500, or the commit); every other cell becomes a code, number or date."""
    from services.intake.households.schemas import BankAccountIn, HouseholdIn
    from services.intake.models import Household, Member, RollImportHousehold, RollImportIssue, RollImportRow
    from shared.core.names import MAX_NAME_LENGTH

    def front_desk(model, field: str) -> int:
        return next(m.max_length for m in model.model_fields[field].metadata if hasattr(m, "max_length"))

    written = {
        "household_ref": [
            RollImportRow.household_ref,
            RollImportHousehold.household_ref,
            RollImportIssue.household_ref,
        ],
        "name": [RollImportRow.name, Member.name],
        "address": [Household.address],
        "bank_name": [Household.bank_name],
        "account_holder": [Household.bank_account_holder],
    }
    assert set(domain.LENGTHS) == set(written)
    for key, columns in written.items():
        assert all(_length(c) is None or domain.LENGTHS[key] <= _length(c) for c in columns), key
    assert domain.LENGTHS["name"] == domain.LENGTHS["account_holder"] == MAX_NAME_LENGTH
    assert domain.LENGTHS["bank_name"] == front_desk(BankAccountIn, "bank_name")
    assert domain.LENGTHS["address"] == front_desk(HouseholdIn, "address")
    assert max(len(k) for k in domain.KEYS) <= _length(RollImportRow.error_field)


@pytest.mark.parametrize(
    ("written", "lost"), [("", 0), ("全自理", 0), ("0", 0), ("半护理", 1), ("3", 3), ("全护理", 4), ("6", 6)]
)
def test_self_care_is_read_as_the_level_or_the_count_of_activities_not_done_alone(ctx, written, lost) -> None:
    """生活自理能力: a recorded level counts as the fewest activities that make it (半护理 1, 全护理 4)."""
    facts = domain.parse_row(4, row(self_care=written, programme="特困"), ctx).facts
    care = SelfCare.model_validate(facts.get("self_care", {}))
    assert care.impossible_count == lost
    assert ("self_care" in facts) is (lost > 0)  # 全自理 is the default: nothing stored for it


@pytest.mark.parametrize(("text", "fen"), [("0", 0), ("520", 52_000), ("520.5", 52_050), ("1,234.56", 123_456)])
def test_yuan_become_fen_exactly(text, fen) -> None:
    assert domain.yuan_to_fen(text, "monthly_amount") == fen


def staged(line: int, relation: str = "head", covered: bool = True, **household) -> domain.StagedMember:
    return domain.StagedMember(
        line=line,
        member_id=uuid.uuid4(),
        name="王秀英",
        relation=relation,
        sex="female",
        birth_date=date(1956, 3, 12),
        id_fingerprint=uuid.uuid4().hex,
        covered=covered,
        income_fen=0,
        facts={},
        household=household,
        has_account=False,
    )


FIRST = {
    "region_code": "610626101201",
    "hukou": "rural",
    "address": "一组",
    "programme": "dibao",
    "approved_on": "2024-03-15",
    "monthly_amount_fen": 52_050,
    "persons": 2,
}


def test_a_household_takes_its_columns_from_its_first_row() -> None:
    verdict = domain.check_household([staged(2, **FIRST), staged(3, "spouse")])
    assert verdict.problem is None and verdict.values == FIRST and verdict.covered_lines == [2, 3]


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ([staged(2, **FIRST), staged(3, "spouse", address="二组")], (3, "address")),
        ([staged(2, **{k: v for k, v in FIRST.items() if k != "programme"})], (2, "programme")),
        ([staged(2, "spouse", **FIRST), staged(3, "child")], (2, "relation")),
        ([staged(2, **FIRST), staged(3, "head")], (3, "relation")),
        ([staged(2, covered=False, **FIRST), staged(3, "spouse", False)], (2, "covered")),
        ([staged(2, **{**FIRST, "persons": 3}), staged(3, "spouse")], (2, "persons")),
        ([staged(2, **FIRST), staged(3, "spouse", False)], (2, "persons")),  # 2 paid for, 1 marked 是
        ([staged(2, **{**FIRST, "persons": 1}), staged(3, "spouse")], (2, "persons")),  # 1 paid for, 2 marked 是
        ([staged(2, **{**FIRST, "programme": "tekun"}), staged(3, "spouse")], (3, "covered")),
        ([staged(2, **{**FIRST, "bank_name": "吴起农村商业银行"})], (2, "account_holder")),
        ([staged(2, **{**FIRST, "approved_on": "1950-06-01"}), staged(3, "spouse")], (2, "approved_on")),
        ([staged(2, **FIRST), staged(3, "spouse", next_review_on="2024-03-14")], (3, "next_review_on")),
    ],
)
def test_a_household_whose_rows_disagree_is_refused_at_the_row(members, problem) -> None:
    verdict = domain.check_household(members)
    assert verdict.problem is not None and verdict.problem[:2] == problem


def _csv(rows: list[dict[str, str]], encoding: str = "utf-8", titles: bool = True) -> io.BytesIO:
    out = io.StringIO()
    keys = list(rows[0])
    writer = csv.writer(out)
    writer.writerow([domain.BY_KEY[k].title for k in keys] if titles else keys)
    for r in rows:
        writer.writerow([r[k] for k in keys])
    return io.BytesIO(out.getvalue().encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_csv_in_utf8_or_gbk_is_read_row_by_row(encoding) -> None:
    file = _csv([row(), row(name="李建国", relation="配偶")], encoding)
    assert reader.detect_format(file, "roll.csv") == "csv"
    rows = list(reader.rows(file, "csv"))
    assert [line for line, _ in rows] == [2, 3]
    assert rows[1][1]["name"] == "李建国"


def test_the_header_may_use_the_keys_and_leave_out_optional_columns() -> None:
    rows = list(reader.rows(_csv([row()], titles=False), "csv"))
    assert rows[0][1]["household_ref"] == "WQ1"


def test_a_row_of_the_wrong_width_is_reported_not_fatal() -> None:
    file = _csv([row()])
    file = io.BytesIO(file.getvalue() + b"WQ2,short\n")
    rows = list(reader.rows(file, "csv"))
    assert rows[1] == (3, reader.RowRefused("row", "has 2 fields, the header has 15", "WQ2"))  # its 户编号 kept


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"", "file"),
        ("户编号,姓名\nWQ1,王\n".encode(), "header"),
        (",".join(c.title for c in domain.COLUMNS if c.required).encode() + b"\n", "file"),
        (b"x" * (reader.MAX_LINE_BYTES + 10), "file"),
        (b"\xd0\xcf\x11\xe0old xls", "file"),
    ],
)
def test_an_unreadable_file_is_refused_naming_the_field(content, field) -> None:
    file = io.BytesIO(content)
    with pytest.raises(reader.BadFile) as caught:
        reader.digest(file, 10**6)
        list(reader.rows(file, reader.detect_format(file, "x")))
    assert caught.value.field == field


def test_a_file_over_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(reader.BadFile):
        reader.digest(io.BytesIO(b"x" * 2000), 1000)


def test_xlsx_is_read_and_a_numeric_id_or_account_cell_is_named() -> None:
    book = Workbook()
    sheet = book.active
    values = row()
    sheet.append([domain.BY_KEY[k].title for k in values])
    sheet.append(list(values.values()))
    sheet.append([*list(values.values())[:5], 610626195603120021, *list(values.values())[6:]])
    # A 19-digit account typed as a number: Excel keeps 15 significant digits (6217000000000001234 → …000)
    sheet.append([*list(values.values())[:-1], 6217000000000001234])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    assert reader.detect_format(out, "roll.xlsx") == "xlsx"
    rows = list(reader.rows(out, "xlsx"))
    assert rows[0][1]["name"] == "王秀英"
    why = "the cell is a number, not text: set the column's format to 文本"
    # Each under the row's own 户编号: its household is refused with it.
    assert rows[1] == (3, reader.RowRefused("id_number", why, "WQ1"))
    assert rows[2] == (4, reader.RowRefused("account_number", why, "WQ1"))


def test_a_joined_member_takes_the_facts_the_file_states_and_keeps_what_it_leaves_blank():
    from services.intake.households.schemas import MemberFactsIn
    from services.intake.roll_import.domain import joined_facts

    blank = MemberFactsIn().model_dump(mode="json")
    on_file = {**blank, "serious_illness": True, "education_level": "初中"}
    stated = {**blank, "disability_category": "physical", "disability_grade": 2, "has_capable_supporter": False}
    merged = joined_facts(on_file, stated, blank)
    assert (merged["disability_category"], merged["disability_grade"]) == ("physical", 2)  # stated
    assert merged["has_capable_supporter"] is False  # established by the old approval, whatever its value
    assert (merged["serious_illness"], merged["education_level"]) == (True, "初中")  # blank cells erase nothing
    assert joined_facts(on_file, blank, blank) == on_file
