"""存量对象导入: the roll file's columns, and the row-by-row and household-by-household checks that turn a county's
current recipients into what intake stores. Pure: no database, no HTTP here.

A row is one member; rows sharing a 户编号 are one household. The household's columns (region, 户籍, address,
programme, approval, amount, account) may be repeated on every row or given on its first row only; a later row
that repeats one must repeat it unchanged. Problems name the column key and say why, never echoing the value (an
ID number must not reach the report)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pydantic_core import PydanticCustomError

from shared.core.household import SelfCare
from shared.core.identity import InvalidResidentId, parse_resident_id
from shared.core.money import fen_of_yuan
from shared.core.names import MAX_NAME_LENGTH, normalise_person_name
from shared.core.regions import InvalidRegionCode, RegionTable, UnknownRegionCode, is_within
from shared.events.catalogue import PERSON_LEVEL, RECURRING
from shared.validation import CONTROL_CHARACTERS


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # the Chinese header of the template
    required: bool  # the header must have it (a household column may still be blank on later rows)
    household: bool  # one value per household
    explain: str  # 填表说明


COLUMNS: tuple[Column, ...] = (
    Column("household_ref", "户编号", True, False, "同一户的成员填同一编号(本文件内唯一,如旧系统户编号),不超过64字"),
    Column("region_code", "村(社区)代码", True, True, "12位统计用区划代码,须在本县范围内"),
    Column("hukou", "户籍性质", True, True, "城镇 或 农村"),
    Column("address", "地址", True, True, "家庭住址,不超过200字"),
    Column("name", "姓名", True, False, "成员姓名,1-50字(与身份证一致)"),
    Column("id_number", "公民身份号码", True, False, "18位居民身份证号码(GB 11643),单元格设为文本格式"),
    Column(
        "relation", "与户主关系", True, False, "户主、配偶、子女、父母、孙子女、祖父母、兄弟姐妹、其他;每户一名户主"
    ),
    Column("sex", "性别", False, False, "男/女,可空(由身份证号码推出,填写则须一致)"),
    Column("birth_date", "出生日期", False, False, "YYYY-MM-DD,可空(由身份证号码推出,填写则须一致)"),
    Column("labour_capacity", "劳动能力", False, False, "有劳动能力、部分丧失劳动能力、无劳动能力;空为有"),
    Column("disability_category", "残疾类别", False, False, "视力、听力、言语、肢体、智力、精神、多重;无残疾留空"),
    Column("disability_grade", "残疾等级", False, False, "1-4(一级至四级),与残疾类别同填"),
    Column("serious_illness", "是否重病", False, False, "是/否,空为否"),
    Column("student", "是否在校生", False, False, "是/否,空为否"),
    Column(
        "self_care",
        "生活自理能力",
        False,
        False,
        "全自理、半护理、全护理,或进食、穿衣、上下床、如厕、室内行走、洗澡六项中不能自理的项数0-6;空为全自理",
    ),
    Column("covered", "是否保障对象", True, False, "是/否:该成员是否享受本保障"),
    Column("monthly_income", "月收入(元)", False, False, "成员月收入(元,最多两位小数),空为0"),
    Column(
        "programme",
        "保障类别",
        True,
        True,
        "低保、特困、低保边缘、孤儿、事实无人抚养儿童、残疾人生活补贴、重度残疾人护理补贴",
    ),
    Column(
        "tekun_arrangement",
        "供养方式",
        False,
        True,
        "特困:集中 或 分散;孤儿:集中(福利机构养育)或 分散(社会散居),空为分散;其他类别留空",
    ),
    Column("approved_on", "审批日期", True, True, "旧系统审批日期 YYYY-MM-DD"),
    Column("monthly_amount", "月保障金(元)", True, True, "目前每月发放金额(元,最多两位小数)"),
    Column("persons", "保障人数", True, True, "目前保障人数"),
    Column("next_review_on", "下次复核日期", False, True, "YYYY-MM-DD,可空(按常规规则)"),
    Column("bank_name", "开户银行", True, True, "如 吴起农村商业银行,不超过100字;开户银行、账户名、银行账号同填或同空"),
    Column("account_holder", "账户名", True, True, "银行户名,1-50字"),
    Column("account_number", "银行账号", True, True, "12-30位数字,单元格设为文本格式"),
)
KEYS = tuple(c.key for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}
BY_TITLE = {c.title: c for c in COLUMNS}
OPTIONAL = frozenset(c.key for c in COLUMNS if not c.required)
HOUSEHOLD_KEYS = tuple(c.key for c in COLUMNS if c.household)
#: A household's columns it must have (on its first row at least).
HOUSEHOLD_REQUIRED = ("region_code", "hukou", "address", "programme", "approved_on", "monthly_amount_fen", "persons")
ACCOUNT_KEYS = ("bank_name", "account_holder", "account_number")

PROGRAMMES = {
    "低保": "dibao",
    "最低生活保障": "dibao",
    "特困": "tekun",
    "特困供养": "tekun",
    "特困人员": "tekun",
    "低保边缘": "marginal",
    "孤儿": "orphan",
    "事实无人抚养儿童": "de_facto_orphan",
    "残疾人生活补贴": "disability_living",
    "困难残疾人生活补贴": "disability_living",
    "重度残疾人护理补贴": "disability_care",
}
HUKOU = {"城镇": "urban", "农村": "rural", "urban": "urban", "rural": "rural", "非农业": "urban", "农业": "rural"}
RELATIONS = {
    "户主": "head",
    "本人": "head",
    "配偶": "spouse",
    "妻": "spouse",
    "夫": "spouse",
    "子女": "child",
    "子": "child",
    "女": "child",
    "儿子": "child",
    "女儿": "child",
    "父母": "parent",
    "父亲": "parent",
    "母亲": "parent",
    "孙子女": "grandchild",
    "孙子": "grandchild",
    "孙女": "grandchild",
    "祖父母": "grandparent",
    "祖父": "grandparent",
    "祖母": "grandparent",
    "兄弟姐妹": "sibling",
    "兄弟": "sibling",
    "姐妹": "sibling",
    "其他": "other",
}
SEXES = {"男": "male", "女": "female", "male": "male", "female": "female"}
LABOUR = {
    "有劳动能力": "full",
    "有": "full",
    "部分丧失劳动能力": "partial",
    "部分": "partial",
    "无劳动能力": "none",
    "丧失劳动能力": "none",
    "无": "none",
}
DISABILITY = {
    "视力": "visual",
    "听力": "hearing",
    "言语": "speech",
    "肢体": "physical",
    "智力": "intellectual",
    "精神": "mental",
    "多重": "multiple",
}
GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
YES_NO = {"是": True, "否": False, "yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
#: 生活自理能力 as the old roll records it: the level (the fewest activities that make it, 民发〔2021〕43号) or a count.
CARE_LEVELS = {"全自理": 0, "半护理": 1, "全护理": 4}
ARRANGEMENTS = {"集中": "institution", "集中供养": "institution", "分散": "home", "分散供养": "home"}
#: The programmes whose file says where the person lives (供养方式): 特困 集中/分散, 孤儿 福利机构养育/社会散居.
ARRANGED = frozenset({"tekun", "orphan"})

_ACCOUNT = re.compile(r"^[0-9]{12,30}$")
MAX_VALUE_CHARS = 200
#: The free-text columns, as long as the front desk takes them and no longer than the columns they are written to
#: (tests/unit/intake/test_roll_import_rows.py holds them to both): a person's name (`PersonName`: members.name,
#: households.bank_account_holder), the bank's name (`BankAccountIn`: households.bank_name varchar(100)), the
#: address (`HouseholdIn`), the 户编号 (the staging's varchar(64)). Every other column is a code, a number or a date
#: mapped to what is stored; its cell is bounded by MAX_VALUE_CHARS.
LENGTHS = {
    "household_ref": 64,
    "name": MAX_NAME_LENGTH,
    "address": 200,
    "bank_name": 100,
    "account_holder": MAX_NAME_LENGTH,
}


class RowProblem(ValueError):
    """What is wrong and in which column (its key); the value itself is never repeated."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def header_keys(header: Sequence[str]) -> list[str]:
    """The file's header as column keys: a template title (户编号) or the key itself (household_ref); anything else
    is kept as written, for `shared.uploads.column_problems` to name."""
    keys = []
    for raw in header:
        text = str(raw or "").strip().lstrip("\ufeff")
        column = BY_TITLE.get(text) or BY_KEY.get(text)
        keys.append(column.key if column else text)
    return keys


def _lookup(value: str, table: Mapping[str, Any], key: str) -> Any:
    found = table.get(value) if value in table else table.get(value.lower())
    if found is None and value not in table:
        choices = "、".join(k for k in table if not k.isascii()) or ", ".join(table)
        raise RowProblem(key, f"must be one of {choices}")
    return found


def _date(value: str, key: str, today: date) -> date:
    text = value.replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RowProblem(key, "must be a date YYYY-MM-DD") from None
    if day.year < 1900:
        raise RowProblem(key, "is before 1900")
    return day


def yuan_to_fen(value: str, key: str) -> int:
    """Yuan with at most two decimals (1,234.5 or 1234.50) as whole fen; never through a float."""
    text = value.replace(",", "").replace("，", "")
    if text.startswith("-"):
        raise RowProblem(key, "cannot be negative")
    try:
        return fen_of_yuan(text, max_whole_digits=9)
    except ValueError:
        raise RowProblem(
            key, "must be an amount in yuan (digits 0-9) with at most two decimals, e.g. 1234.50"
        ) from None


def _whole(value: str, key: str, low: int, high: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise RowProblem(key, "must be a whole number")
    number = int(value)
    if not low <= number <= high:
        raise RowProblem(key, f"must be between {low} and {high}")
    return number


@dataclass
class RowContext:
    """What row checks need besides the row: the day, the region table, the importer's scope and the fingerprint
    function. Region codes checked once are remembered (a roll has many rows but few villages)."""

    regions: RegionTable
    scope: str
    today: date
    fingerprint: Callable[[str], str]
    _region_problems: dict[str, str | None] = field(default_factory=dict)

    def region(self, code: str) -> str:
        if code not in self._region_problems:
            problem = None
            try:
                self.regions.validate_village_code(code)
                if not is_within(code, self.scope):
                    problem = f"outside your region {self.scope}"
            except (InvalidRegionCode, UnknownRegionCode) as exc:
                problem = str(exc).replace(code, "the code") if len(code) > 12 else str(exc)
            self._region_problems[code] = problem
        if problem := self._region_problems[code]:
            raise RowProblem("region_code", problem)
        return code


@dataclass
class Row:
    """A member row as checked: the person (ID number still in clear: the caller seals it and drops it) and the
    household's columns this row carries (None where blank)."""

    line: int
    household_ref: str
    name: str
    id_number: str
    id_fingerprint: str
    birth_date: date
    sex: str
    relation: str
    covered: bool
    income_fen: int
    facts: dict[str, Any]
    household: dict[str, Any]
    account_number: str | None


def _cell(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    text = str(value).strip()
    if key in LENGTHS and len(text) > LENGTHS[key]:
        raise RowProblem(key, f"must be 1–{LENGTHS[key]} characters")
    if len(text) > MAX_VALUE_CHARS:
        raise RowProblem(key, f"is longer than {MAX_VALUE_CHARS} characters")
    if CONTROL_CHARACTERS.search(text) or "\n" in text or "\r" in text or "\t" in text:
        raise RowProblem(key, "holds control characters or line breaks")
    return text


def _activities_lost(value: str) -> int:
    if value in CARE_LEVELS:
        return CARE_LEVELS[value]
    if value and (not value.isascii() or not value.isdigit() or int(value) > 6):
        raise RowProblem("self_care", "must be 全自理、半护理、全护理 or the activities not done alone, 0-6")
    return int(value or 0)


def parse_row(line: int, raw: Mapping[str, Any], ctx: RowContext) -> Row:
    """One member row checked column by column; RowProblem names the first bad column."""
    cells = {key: _cell(raw, key) for key in KEYS}
    ref = cells["household_ref"]
    if not ref:
        raise RowProblem("household_ref", "is required: the rows of one household share it")
    try:
        name = normalise_person_name(cells["name"])
    except PydanticCustomError as exc:
        raise RowProblem("name", str(exc)) from None
    if not cells["id_number"]:
        raise RowProblem("id_number", "is required")
    try:
        rid = parse_resident_id(cells["id_number"], today=ctx.today)
    except InvalidResidentId as exc:
        raise RowProblem("id_number", exc.reason) from None
    if cells["sex"] and _lookup(cells["sex"], SEXES, "sex") != rid.sex:
        raise RowProblem("sex", "does not match the ID number")
    if cells["birth_date"] and _date(cells["birth_date"], "birth_date", ctx.today) != rid.birth_date:
        raise RowProblem("birth_date", "does not match the ID number")
    if not cells["relation"]:
        raise RowProblem("relation", "is required")
    relation = RELATIONS.get(cells["relation"]) or (
        cells["relation"] if cells["relation"] in set(RELATIONS.values()) else None
    )
    if relation is None:
        raise RowProblem("relation", "must be one of 户主、配偶、子女、父母、孙子女、祖父母、兄弟姐妹、其他")
    labour = "full"
    if cells["labour_capacity"]:
        labour = LABOUR.get(cells["labour_capacity"]) or cells["labour_capacity"]
        if labour not in ("full", "partial", "none"):
            raise RowProblem("labour_capacity", "must be 有劳动能力、部分丧失劳动能力 or 无劳动能力")
    category = grade = None
    if cells["disability_category"]:
        category = _lookup(cells["disability_category"].removesuffix("残疾"), DISABILITY, "disability_category")
    if cells["disability_grade"]:
        grade = GRADES.get(cells["disability_grade"]) or _whole(cells["disability_grade"], "disability_grade", 1, 4)
    if (category is None) != (grade is None):
        missing = "disability_category" if category is None else "disability_grade"
        raise RowProblem(missing, "disability category and grade go together")
    facts = {
        "counted": True,
        "not_counted_reason": None,
        "disability_category": category,
        "disability_grade": grade,
        "labour_capacity": labour,
        "serious_illness": _flag(cells, "serious_illness"),
        "student": _flag(cells, "student"),
    }
    if lost := _activities_lost(cells["self_care"]):
        facts["self_care"] = SelfCare.with_impossible(lost).model_dump()
    if not cells["covered"]:
        raise RowProblem("covered", "is required: 是 or 否")
    covered = _lookup(cells["covered"], YES_NO, "covered")
    income = yuan_to_fen(cells["monthly_income"], "monthly_income") if cells["monthly_income"] else 0
    household = _household_cells(cells, ctx)
    account = household.pop("account_number", None)
    return Row(
        line=line,
        household_ref=ref,
        name=name,
        id_number=rid.number,
        id_fingerprint=ctx.fingerprint(rid.number),
        birth_date=rid.birth_date,
        sex=rid.sex,
        relation=relation,
        covered=covered,
        income_fen=income,
        facts=facts,
        household=household,
        account_number=account,
    )


def _flag(cells: Mapping[str, str], key: str) -> bool:
    return bool(_lookup(cells[key], YES_NO, key)) if cells[key] else False


def _household_cells(cells: Mapping[str, str], ctx: RowContext) -> dict[str, Any]:
    """The household's columns this row fills in, checked; blank ones left out."""
    out: dict[str, Any] = {}
    if code := cells["region_code"]:
        out["region_code"] = ctx.region(code)
    if cells["hukou"]:
        out["hukou"] = _lookup(cells["hukou"], HUKOU, "hukou")
    if cells["address"]:
        out["address"] = cells["address"]
    if text := cells["programme"]:
        programme = PROGRAMMES.get(text) or (text if text in RECURRING else None)
        if programme is None:
            raise RowProblem("programme", "must be one of " + "、".join(dict.fromkeys(PROGRAMMES)))
        out["programme"] = programme
    if cells["tekun_arrangement"]:
        out["tekun_arrangement"] = _lookup(cells["tekun_arrangement"], ARRANGEMENTS, "tekun_arrangement")
    if cells["approved_on"]:
        approved = _date(cells["approved_on"], "approved_on", ctx.today)
        if approved > ctx.today:
            raise RowProblem("approved_on", "cannot be in the future")
        out["approved_on"] = approved
    if cells["monthly_amount"]:
        out["monthly_amount_fen"] = yuan_to_fen(cells["monthly_amount"], "monthly_amount")
    if cells["persons"]:
        out["persons"] = _whole(cells["persons"], "persons", 1, 30)
    if cells["next_review_on"]:
        out["next_review_on"] = _date(cells["next_review_on"], "next_review_on", ctx.today)
    given = [k for k in ACCOUNT_KEYS if cells[k]]
    if given:
        if cells["bank_name"]:
            out["bank_name"] = cells["bank_name"]
        if cells["account_holder"]:
            try:
                out["account_holder"] = normalise_person_name(cells["account_holder"])
            except PydanticCustomError as exc:
                raise RowProblem("account_holder", str(exc)) from None
        if cells["account_number"]:
            number = cells["account_number"].replace(" ", "")
            if not _ACCOUNT.fullmatch(number):
                raise RowProblem("account_number", "must be 12 to 30 digits")
            out["account_number"] = number
    return out


# --- the household as a whole --------------------------------------------------------------------------------


@dataclass
class StagedMember:
    """A member row as staged (sealed, fingerprinted): what the household checks read."""

    line: int
    member_id: Any
    name: str
    relation: str
    sex: str
    birth_date: date
    id_fingerprint: str
    covered: bool
    income_fen: int
    facts: dict[str, Any]
    household: dict[str, Any]  # this row's household columns (blank ones absent)
    has_account: bool


@dataclass
class HouseholdVerdict:
    """A household's columns resolved from its rows, or the row and column that refuse it."""

    values: dict[str, Any]
    covered_lines: list[int]
    problem: tuple[int, str, str] | None = None  # (line, field, why)


def check_household(members: Sequence[StagedMember]) -> HouseholdVerdict:
    """The household's columns from its first row that has each, every other row agreeing; one head; the covered
    members consistent with the programme and `persons`."""
    values: dict[str, Any] = {}
    first_line: dict[str, int] = {}
    for m in members:
        for key, value in m.household.items():
            if key not in values:
                values[key], first_line[key] = value, m.line
            elif values[key] != value:
                why = f"differs from line {first_line[key]} of the same household"
                return HouseholdVerdict(values, [], (m.line, key.removesuffix("_fen"), why))
    lead = members[0].line
    for key in HOUSEHOLD_REQUIRED:
        if key not in values:
            field = key.removesuffix("_fen")  # the column's key
            return HouseholdVerdict(values, [], (lead, field, "is required on the household's first row"))
    account_given = [k for k in ACCOUNT_KEYS if k in values or (k == "account_number" and _any_account(members))]
    if account_given and len(account_given) < len(ACCOUNT_KEYS):
        missing = next(k for k in ACCOUNT_KEYS if k not in account_given)
        return HouseholdVerdict(values, [], (lead, missing, "bank name, holder and account number go together"))
    heads = [m for m in members if m.relation == "head"]
    if len(heads) != 1:
        line = heads[1].line if heads else lead
        why = "a household has exactly one 户主" if heads else "the household has no 户主 row"
        return HouseholdVerdict(values, [], (line, "relation", why))
    covered = [m for m in members if m.covered]
    if not covered:
        return HouseholdVerdict(values, [], (lead, "covered", "no member of the household is marked 是"))
    programme = values["programme"]
    if programme in PERSON_LEVEL and len(covered) > 1:
        why = "a person-level programme covers one member per household: split the household's rows"
        return HouseholdVerdict(values, [], (covered[1].line, "covered", why))
    if values["persons"] > len(members):
        why = f"is {values['persons']}, more than the household's {len(members)} members in the file"
        return HouseholdVerdict(values, [], (lead, "persons", why))
    if values["persons"] != len(covered):
        # 保障人数 is those the amount pays for: the members marked 是 (a 单人保 household marks one).
        why = f"is {values['persons']}, but {len(covered)} of the household's members are marked 是"
        return HouseholdVerdict(values, [], (lead, "persons", why))
    if programme not in ARRANGED and "tekun_arrangement" in values:
        return HouseholdVerdict(values, [], (lead, "tekun_arrangement", "only for 特困 and 孤儿"))
    if problem := _impossible_dates(values, first_line, members, covered[0] if programme in PERSON_LEVEL else None):
        return HouseholdVerdict(values, [], problem)
    return HouseholdVerdict(values, [m.line for m in covered])


def _impossible_dates(
    values: Mapping[str, Any],
    first_line: Mapping[str, int],
    members: Sequence[StagedMember],
    person: StagedMember | None,
) -> tuple[int, str, str] | None:
    """An approval before the person it covers was born (every member, for a household's programme), or a next
    review before the approval: no roll holds them (the case would open before its person, or stay overdue for
    ever). A review date already past but after the approval is a review overdue, and real. The birth date is
    the ID number's: never shown."""
    approved = date.fromisoformat(str(values["approved_on"]))  # staged as JSON: ISO text
    if person is not None and approved < person.birth_date:
        why = f"is before the birth of the person it covers (line {person.line})"
        return first_line["approved_on"], "approved_on", why
    if person is None and all(approved < m.birth_date for m in members):
        return first_line["approved_on"], "approved_on", "is before the birth of every member of the household"
    review = values.get("next_review_on")
    if review is not None and date.fromisoformat(str(review)) < approved:
        why = f"is before the approval date (审批日期 {approved.isoformat()} on line {first_line['approved_on']})"
        return first_line["next_review_on"], "next_review_on", why
    return None


#: The facts an old approval itself established (`with_established_facts`): stated whatever their value.
ESTABLISHED = ("in_institution", "has_capable_supporter")


def joined_facts(on_file: Mapping[str, Any], stated: Mapping[str, Any], blank: Mapping[str, Any]) -> dict[str, Any]:
    """A member of a household on file that a file joins: the facts the file states — those its programme was
    priced on — over those on file, so a later review reads what the case was priced on. A cell the file leaves
    blank (the fact at its default, `blank`) never erases what the front desk recorded."""
    told = {k: v for k, v in stated.items() if k in ESTABLISHED or k not in blank or v != blank[k]}
    return {**on_file, **told}


def with_established_facts(values: Mapping[str, Any], members: Sequence[StagedMember]) -> list[StagedMember]:
    """The members with the facts their old approval itself established, where the template has no column for them.
    A person on the 特困 roll was found to have no legal supporter able to support them (民发〔2021〕43号: one of
    its three conditions): left to the front desk's default (a capable supporter), our rules would find every
    imported 特困 person ineligible. A 特困 person or an orphan lives in an institution (集中供养, 福利机构养育) or
    not as 供养方式 says: the orphan's rate depends on it."""
    programme = values.get("programme")
    if programme not in ARRANGED:
        return list(members)
    established: dict[str, Any] = {"in_institution": values.get("tekun_arrangement") == "institution"}
    if programme == "tekun":
        established["has_capable_supporter"] = False
    return [replace(m, facts={**m.facts, **established}) if m.covered else m for m in members]


def _any_account(members: Sequence[StagedMember]) -> bool:
    return any(m.has_account for m in members)
