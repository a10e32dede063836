"""Request and response bodies for households (户), members (家庭成员), economic facts and bank accounts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.intake.regions.schemas import CODE_RULE
from shared.core.household import HukouType, LabourCapacity, PropertyKind, RigidExpenseKind, SelfCare
from shared.core.household import IncomeKind as IncomeKindT
from shared.core.identity import ResidentIdStr
from shared.core.money import Fen
from shared.core.names import PersonName
from shared.pagination import REGION_PATTERN, Page, RegionListQuery
from shared.validation import AT_LEAST_ONE_FIELD, reject_null, require_a_field

_IN = ConfigDict(extra="forbid")
_PATCH = ConfigDict(extra="forbid", json_schema_extra=AT_LEAST_ONE_FIELD)

Relation = Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]
DisabilityCategory = Literal["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
VillageCode = str
_VILLAGE = Field(pattern=r"^[0-9]{12}$", description=CODE_RULE + " GET /regions/{township} lists the codes.")


class MemberFactsIn(BaseModel):
    """What the township records about a person, besides name and ID number (all optional on update)."""

    model_config = _IN

    counted: bool = Field(default=True, description="共同生活家庭成员; when false, not_counted_reason is required")
    not_counted_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="e.g. 服刑, 强制隔离戒毒, 宣告失踪, 宗教教职人员离家3年以上",
    )
    disability_category: DisabilityCategory | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    labour_capacity: LabourCapacity = "full"
    self_care: SelfCare = Field(default_factory=SelfCare)
    serious_illness: bool = False
    student: bool = False
    education_level: str | None = Field(default=None, max_length=30)
    employed: bool = False
    has_capable_supporter: bool = True
    in_institution: bool = False


class MemberIn(MemberFactsIn):
    name: PersonName
    id_number: ResidentIdStr = Field(description="居民身份证号 (GB 11643); birth date and sex are derived from it")
    relation: Relation


class MemberUpdate(BaseModel):
    """Partial update of a member (at least one field). The ID number cannot change: remove the member, add the
    right one."""

    model_config = _PATCH

    name: PersonName | None = None
    relation: Relation | None = None
    counted: bool | None = None
    not_counted_reason: str | None = Field(default=None, min_length=1, max_length=200)
    disability_category: DisabilityCategory | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    labour_capacity: LabourCapacity | None = None
    self_care: SelfCare | None = None
    serious_illness: bool | None = None
    student: bool | None = None
    education_level: str | None = Field(default=None, max_length=30)
    employed: bool | None = None
    has_capable_supporter: bool | None = None
    in_institution: bool | None = None

    _required = field_validator(
        "name",
        "relation",
        "counted",
        "labour_capacity",
        "self_care",
        "serious_illness",
        "student",
        "employed",
        "has_capable_supporter",
        "in_institution",
    )(reject_null)
    _some = model_validator(mode="after")(require_a_field)


class IncomeIn(BaseModel):
    model_config = _IN

    earner: int | None = Field(default=None, ge=0, description="index into `members` of who earns it")
    kind: IncomeKindT
    subkind: str = Field(
        min_length=1,
        max_length=40,
        description="e.g. salary, farming, rent; exempt kinds: social_assistance, youfu, "
        "scholarship, jianyiyongwei, basic_pension",
    )
    monthly_amount_fen: Fen = Field(le=10**10, description="分 per month, net of costs")


class IncomeByMemberIn(BaseModel):
    """An income item on an existing household: the earner is named by member id."""

    model_config = _IN

    member_id: uuid.UUID | None = Field(default=None, description="the earner; null = the household as a whole")
    kind: IncomeKindT
    subkind: str = Field(min_length=1, max_length=40)
    monthly_amount_fen: Fen = Field(le=10**10, description="分 per month, net of costs")


class PropertyIn(BaseModel):
    model_config = _IN

    kind: PropertyKind
    value_fen: Fen = Field(le=10**12)
    description: str = Field(default="", max_length=200)


class RigidExpenseIn(BaseModel):
    model_config = _IN

    kind: RigidExpenseKind
    amount_fen_12m: Fen = Field(le=10**11, description="分 spent out of pocket over the last 12 months")
    description: str = Field(default="", max_length=200)


class BankAccountIn(BaseModel):
    model_config = _IN

    bank_name: str = Field(min_length=1, max_length=100, description="e.g. 吴起农村商业银行")
    account_holder: PersonName = Field(description="户名: the account holder's name as the bank has it")
    account_number: str = Field(pattern=r"^[0-9]{12,30}$", description="digits only; shown masked on every read")


class BankAccountOut(BaseModel):
    bank_name: str
    account_holder: str
    account_number_masked: str


# An address says where the household lives: not blank (spaces, full-width spaces, tabs only).
_NOT_BLANK = r"\S"
_ADDRESS = "the household's address (住址); not blank"


class HouseholdIn(BaseModel):
    model_config = _IN

    region_code: VillageCode = _VILLAGE
    hukou_type: HukouType
    address: str = Field(min_length=1, max_length=200, pattern=_NOT_BLANK, description=_ADDRESS)
    members: list[MemberIn] = Field(min_length=1, max_length=30)
    incomes: list[IncomeIn] = Field(default_factory=list, max_length=100)
    properties: list[PropertyIn] = Field(default_factory=list, max_length=100)
    rigid_expenses: list[RigidExpenseIn] = Field(default_factory=list, max_length=100)
    bank_account: BankAccountIn | None = None


class HouseholdUpdate(BaseModel):
    """Partial update: only the fields sent change, at least one; `bank_account: null` removes the account."""

    model_config = _PATCH

    region_code: VillageCode | None = Field(default=None, pattern=r"^[0-9]{12}$", description=CODE_RULE)
    hukou_type: HukouType | None = None
    address: str | None = Field(default=None, min_length=1, max_length=200, pattern=_NOT_BLANK, description=_ADDRESS)
    bank_account: BankAccountIn | None = None

    _required = field_validator("region_code", "hukou_type", "address")(reject_null)
    _some = model_validator(mode="after")(require_a_field)


class EconomicFactsIn(BaseModel):
    """The household's economic facts, replaced as a whole (the front desk edits the full list): all three lists
    are required, so a body that leaves one out erases nothing by accident; `[]` clears that list."""

    model_config = _IN

    incomes: list[IncomeByMemberIn] = Field(
        max_length=100, description="every income of the household, replacing those on file; [] clears them"
    )
    properties: list[PropertyIn] = Field(
        max_length=100, description="every asset of the household, replacing those on file; [] clears them"
    )
    rigid_expenses: list[RigidExpenseIn] = Field(
        max_length=100, description="every rigid expense of the household, replacing those on file; [] clears them"
    )


class HouseholdLookup(BaseModel):
    """Find a person's active household by resident ID (in a body, never in a URL that gets logged)."""

    model_config = _IN

    id_number: ResidentIdStr


class MemberOut(BaseModel):
    id: uuid.UUID
    name: str
    id_number_masked: str
    birth_date: date
    sex: str
    relation: str
    facts: dict


class HouseholdOut(BaseModel):
    id: uuid.UUID
    region_code: str
    region_name: str | None
    hukou_type: str
    address: str
    members: list[MemberOut]
    incomes: list[dict]
    properties: list[dict]
    rigid_expenses: list[dict]
    bank_account: BankAccountOut | None
    updated_at: datetime
    version: int = Field(description="bumped by every write; the ETag header carries it")


class EconomicCheckIdentity(BaseModel):
    """A member as the economic check (家庭经济状况核对) needs them: the resident ID number in full."""

    member_id: uuid.UUID
    name: str
    relation: str
    id_number: str


class HouseholdSummary(BaseModel):
    id: uuid.UUID
    region_code: str
    hukou_type: str
    address: str
    head_name: str | None
    member_count: int
    updated_at: datetime


class HouseholdQuery(RegionListQuery):
    """Which households a search shows (the caller's region, or a township or village of it; by a member's name,
    the address, the 户籍 type; by a member's ID number in the `X-Id-Number` header), newest first."""

    region_code: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="the former name of `region`, still read"
    )
    name: str | None = Field(default=None, min_length=1, max_length=50, description="a member's name (prefix)")
    address: str | None = Field(default=None, min_length=1, max_length=100, description="part of the address")
    hukou_type: HukouType | None = None


class HouseholdPage(Page[HouseholdSummary]):
    """Newest registration first (then by id)."""
