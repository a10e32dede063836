"""The feed kinds partner agencies post (数据比对), their columns, and the row-by-row validation that turns a
parsed row into a typed record or an error naming the field. Pure: no database here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from shared.core.identity import InvalidResidentId, fingerprinter, parse_resident_id
from shared.core.regions import InvalidRegionCode, RegionTable, UnknownRegionCode, is_within
from shared.uploads import column_problems

FeedKind = Literal["monitoring_list", "medical", "disability", "death", "business", "property", "bank"]
FEED_KINDS: tuple[str, ...] = FeedKind.__args__  # type: ignore[attr-defined]

#: Which agency (the `partner:<agency>` role) may post which kinds.
AGENCY_KINDS: dict[str, frozenset[str]] = {
    "rural_revitalization": frozenset({"monitoring_list"}),  # 乡村振兴局: 三类人群 monitoring list
    "medical_insurance": frozenset({"medical"}),  # 医保局: out-of-pocket costs, serious-illness diagnoses
    "disabled_persons_federation": frozenset({"disability"}),  # 残联: disability certificates
    "public_security": frozenset({"death"}),  # 公安: deaths (户籍注销)
    "funeral": frozenset({"death"}),  # 殡葬: cremations and burials
    "market_regulation": frozenset({"business"}),  # 市场监管: business registrations
    "natural_resources": frozenset({"property"}),  # 自然资源: real estate
    "vehicle_administration": frozenset({"property"}),  # 车管所: vehicles
    "bank": frozenset({"bank"}),  # banks: financial checks
}

POPULATION_TYPES = ("unstable", "marginal", "sudden")  # 脱贫不稳定户, 边缘易致贫户, 突发严重困难户
RISK_TYPES = frozenset(
    {
        "illness",
        "disability",
        "schooling",
        "disaster",
        "accident",
        "business_failure",
        "unstable_work",
        "lack_of_labour",
    }
)
DISABILITY_CATEGORIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
ASSET_KINDS = ("housing", "vehicle")

# The columns of feed_records, in COPY order.
RECORD_COLUMNS = (
    "feed_id",
    "kind",
    "line",
    "id_fingerprint",
    "region_code",
    "event_date",
    "amount_fen",
    "category",
    "grade",
    "details",
)


class FieldProblem(ValueError):
    """What is wrong, and in which field (never the value itself, which may be an ID number)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RowError(FieldProblem):
    """A bad row: the field and why; the row is rejected, the rest of the file loads."""


class RowContext:
    """What validation needs besides the row: the day, the region table and scope, and the fingerprint key.
    Region codes seen once are remembered (a feed has millions of rows but few distinct codes)."""

    def __init__(self, regions: RegionTable, scope: str, today: date, key: bytes, profile: str = "standard") -> None:
        self.regions, self.scope, self.today = regions, scope, today
        # The crypto profile intake fingerprints members with (CRYPTO_PROFILE): otherwise nothing would match.
        self.fingerprint = fingerprinter(key, profile)
        self._region_ok: dict[str, str | None] = {}

    def region(self, code: str) -> str:
        if code not in self._region_ok:
            self._region_ok[code] = self._check_region(code)
        problem = self._region_ok[code]
        if problem:
            raise RowError("region_code", problem)
        return code

    def _check_region(self, code: str) -> str | None:
        try:
            if len(code) == 12:
                self.regions.validate_village_code(code)
            elif len(code) in (6, 9):
                self.regions.get(code)
            else:
                return "must be a 6-, 9- or 12-digit GB/T 2260 code"
            if not is_within(code, self.scope):
                return f"outside this feed's region {self.scope or 'national'}"
        except (InvalidRegionCode, UnknownRegionCode) as exc:
            return str(exc)
        return None


def _date(value: str, field: str, ctx: RowContext, *, past_only: bool = False) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RowError(field, "must be a date YYYY-MM-DD") from None
    if past_only and day > ctx.today:
        raise RowError(field, "cannot be in the future")
    if day.year < 1900:
        raise RowError(field, "is before 1900")
    return day


def _fen(value: str, field: str) -> int:
    if not value.isascii() or not value.isdigit():
        if value.startswith("-") and value[1:].isdigit():
            raise RowError(field, "cannot be negative")
        raise RowError(field, "must be a whole number of fen (分), e.g. 123456 for 1,234.56 yuan")
    if len(value) > 15:
        raise RowError(field, "is implausibly large")
    return int(value)


def _choice(value: str, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RowError(field, f"must be one of {', '.join(choices)}")
    return value


def _risk_types(value: str) -> str:
    types = [t.strip() for t in value.split(";") if t.strip()]
    unknown = sorted(set(types) - RISK_TYPES)
    if unknown:
        raise RowError("risk_types", f"unknown risk types {', '.join(unknown)}; use {', '.join(sorted(RISK_TYPES))}")
    return ";".join(types)


def _flag(value: str, field: str) -> bool:
    if value in ("1", "true", "TRUE", "True", "是"):
        return True
    if value in ("", "0", "false", "FALSE", "False", "否"):
        return False
    raise RowError(field, "must be true or false")


# kind → (columns in order, date column, amount column, how category/grade/details are filled)
COLUMNS: dict[str, tuple[str, ...]] = {
    "monitoring_list": ("id_number", "region_code", "listed_on", "population_type", "risk_types", "annual_income_fen"),
    "medical": ("id_number", "region_code", "settled_on", "out_of_pocket_fen", "serious_illness"),
    "disability": ("id_number", "region_code", "certified_on", "category", "grade"),
    "death": ("id_number", "region_code", "death_date"),
    "business": ("id_number", "region_code", "registered_on", "registered_capital_fen"),
    "property": ("id_number", "region_code", "registered_on", "asset_kind", "value_fen"),
    "bank": ("id_number", "region_code", "checked_on", "balance_fen"),
}
OPTIONAL: dict[str, frozenset[str]] = {
    "medical": frozenset({"serious_illness"}),
    "monitoring_list": frozenset({"risk_types"}),
}

DESCRIPTIONS: dict[str, str] = {
    "monitoring_list": "乡村振兴局 三类人群 monitoring list: population type, risk types, per-capita annual income",
    "medical": "医保局 settlements: out-of-pocket cost per settlement and serious-illness diagnosis",
    "disability": "残联 disability certificates: category and grade (1 most severe … 4)",
    "death": "公安/殡葬 deaths",
    "business": "市场监管 business registrations with registered capital",
    "property": "自然资源/车管 real estate and vehicle registrations with value",
    "bank": "banks' financial checks: balance",
}


def check_header(kind: str, header: list[str]) -> list[str]:
    """The problems with a file's header (empty when it is exactly the kind's columns, optional ones may be left
    out): missing, unknown and repeated columns, named."""
    return column_problems(header, COLUMNS[kind], OPTIONAL.get(kind, frozenset()))


_NONE_OPTIONAL: frozenset[str] = frozenset()


def _field(row: Mapping[str, Any], name: str, optional: frozenset[str]) -> str:
    """A field's text, stripped; required unless optional. Per row and field of a million-row file: the common
    case (a string) is tested first."""
    value = row.get(name)
    if value.__class__ is not str:
        if value is None:
            if name in optional:
                return ""
            raise RowError(name, "is required")
        if not isinstance(value, str):
            value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
            if value is None:
                raise RowError(name, "must be a string or number")
    value = value.strip()
    if not value and name not in optional:
        raise RowError(name, "is required")
    return value


def validate_row(kind: str, row: Mapping[str, Any], ctx: RowContext) -> tuple:
    """A typed record (without feed id and line) for a good row; RowError naming the first bad field."""
    optional = OPTIONAL.get(kind, _NONE_OPTIONAL)

    try:
        resident = parse_resident_id(_field(row, "id_number", optional), today=ctx.today)
    except InvalidResidentId as exc:
        raise RowError("id_number", exc.reason) from None
    region = ctx.region(_field(row, "region_code", optional))
    amount = category = grade = details = None
    match kind:
        case "monitoring_list":
            day = _date(_field(row, "listed_on", optional), "listed_on", ctx, past_only=True)
            category = _choice(_field(row, "population_type", optional), "population_type", POPULATION_TYPES)
            details = _risk_types(_field(row, "risk_types", optional)) or None
            amount = _fen(_field(row, "annual_income_fen", optional), "annual_income_fen")
        case "medical":
            day = _date(_field(row, "settled_on", optional), "settled_on", ctx, past_only=True)
            amount = _fen(_field(row, "out_of_pocket_fen", optional), "out_of_pocket_fen")
            category = "serious_illness" if _flag(_field(row, "serious_illness", optional), "serious_illness") else None
        case "disability":
            day = _date(_field(row, "certified_on", optional), "certified_on", ctx, past_only=True)
            category = _choice(_field(row, "category", optional), "category", DISABILITY_CATEGORIES)
            g = _field(row, "grade", optional)
            if g not in ("1", "2", "3", "4"):
                raise RowError("grade", "must be 1, 2, 3 or 4")
            grade = int(g)
        case "death":
            day = _date(_field(row, "death_date", optional), "death_date", ctx, past_only=True)
        case "business":
            day = _date(_field(row, "registered_on", optional), "registered_on", ctx, past_only=True)
            amount = _fen(_field(row, "registered_capital_fen", optional), "registered_capital_fen")
        case "property":
            day = _date(_field(row, "registered_on", optional), "registered_on", ctx, past_only=True)
            category = _choice(_field(row, "asset_kind", optional), "asset_kind", ASSET_KINDS)
            amount = _fen(_field(row, "value_fen", optional), "value_fen")
        case "bank":
            day = _date(_field(row, "checked_on", optional), "checked_on", ctx, past_only=True)
            amount = _fen(_field(row, "balance_fen", optional), "balance_fen")
        case _:
            raise RowError("kind", "unknown feed kind")
    # Every kind's date is of something in the person's life (a death, a bill, a certificate …): before their
    # birth it is a wrong date or a wrong person, and a death would stop a case years before it began.
    if day < resident.birth_date:
        raise RowError(COLUMNS[kind][2], "is before the birth date in the ID number")
    return (kind, ctx.fingerprint(resident.number), region, day, amount, category, grade, details)
