"""Household snapshot (家庭快照): the contract between intake and eligibility.

The intake service records a household's facts and sends them in its events as a :class:`HouseholdSnapshot`;
the eligibility service assesses exactly that snapshot, so a decision can always be replayed from what it
was based on.

Conventions:

* Money is integer fen (分), never float: ``monthly_amount_fen=123456`` is 1,234.56 yuan.
* Every model is frozen and rejects unknown fields (``extra='forbid'``): a typo in a producer fails
  loudly instead of silently dropping a fact that changes eligibility.
* Derived facts (for example :attr:`IncomeItem.exempt`) are properties, not fields, so a snapshot
  serialised with ``model_dump()`` validates again unchanged.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.core.money import Fen

__all__ = [
    "EXEMPT_INCOME_SUBKINDS",
    "HouseholdSnapshot",
    "HukouType",
    "IncomeItem",
    "IncomeKind",
    "LabourCapacity",
    "MemberFacts",
    "PropertyItem",
    "PropertyKind",
    "RigidExpense",
    "RigidExpenseKind",
    "SelfCare",
    "age_on",
    "is_exempt_income",
]

HukouType = Literal["urban", "rural"]
LabourCapacity = Literal["full", "partial", "none"]
IncomeKind = Literal["wages", "business", "property", "transfer"]
PropertyKind = Literal["deposits", "securities", "insurance", "vehicle", "housing", "business", "other"]
RigidExpenseKind = Literal["medical", "education", "rehabilitation", "other"]

#: Income subkinds not counted as household income (民发〔2021〕57号): 社会救助 payments, 优抚 payments,
#: scholarships (奖学金), 见义勇为 awards and the central basic pension (基础养老金).
EXEMPT_INCOME_SUBKINDS: frozenset[str] = frozenset(
    {"social_assistance", "youfu", "scholarship", "jianyiyongwei", "basic_pension"}
)

_FROZEN = ConfigDict(extra="forbid", frozen=True)


def is_exempt_income(subkind: str) -> bool:
    """Whether an income subkind is excluded from 家庭收入 when assessing 低保 and related programmes."""
    return subkind in EXEMPT_INCOME_SUBKINDS


def age_on(birth_date: date, on: date) -> int:
    """Age in completed years (周岁) on a date."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def last_day_under(birth_date: date, age: int) -> date:
    """The last day a person born on `birth_date` is under `age` (周岁): the day before that birthday (one born on
    29 February turns it on 1 March of a common year)."""
    year = birth_date.year + age
    if (birth_date.month, birth_date.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year) - timedelta(days=1)


class SelfCare(BaseModel):
    """生活自理能力: the six daily activities of 民发〔2021〕43号, each ``True`` when the person can do it
    unaided.

    进食 eating, 穿衣 dressing, 上下床 bed_transfer, 如厕 toileting, 室内行走 indoor_walking, 洗澡 bathing.
    """

    model_config = _FROZEN

    eating: bool = True
    dressing: bool = True
    bed_transfer: bool = True
    toileting: bool = True
    indoor_walking: bool = True
    bathing: bool = True

    @classmethod
    def with_impossible(cls, count: int) -> SelfCare:
        """A person who cannot do ``count`` of the six, where a record keeps only the level or the count (an old
        system's roll): the activities taken are those lost first in the usual order of decline (Katz: bathing,
        dressing, toileting, transfer, walking, eating), so that the count, and with it the level, is the record's."""
        lost = ("bathing", "dressing", "toileting", "bed_transfer", "indoor_walking", "eating")[:count]
        return cls(**dict.fromkeys(lost, False))

    @property
    def impossible_count(self) -> int:
        """How many of the six activities the person cannot do (0 = 全自理)."""
        activities = (
            self.eating,
            self.dressing,
            self.bed_transfer,
            self.toileting,
            self.indoor_walking,
            self.bathing,
        )
        return sum(1 for can_do in activities if not can_do)


class MemberFacts(BaseModel):
    """One person in the household (家庭成员) as investigated by the township.

    ``counted`` marks a 共同生活家庭成员 whose income and needs count for 低保; people in prison or compulsory
    rehabilitation, declared missing, or clergy away three years or more are recorded with ``counted=False``
    and a
    ``not_counted_reason``.
    """

    model_config = _FROZEN

    member_id: UUID
    name: str = Field(min_length=1)
    birth_date: date
    sex: Literal["male", "female"]
    relation: str = Field(min_length=1, description="relation to the head: head, spouse, child, parent, other …")
    counted: bool = True
    not_counted_reason: str | None = None
    disability_category: str | None = Field(
        default=None,
        description="残疾类别: visual, hearing, speech, physical, intellectual, mental, multiple",
    )
    disability_grade: int | None = Field(default=None, ge=1, le=4, description="残疾等级 1 (most severe) … 4")
    labour_capacity: LabourCapacity = "full"
    self_care: SelfCare = Field(default_factory=SelfCare)
    serious_illness: bool = False
    student: bool = False
    education_level: str | None = None
    employed: bool = False
    has_capable_supporter: bool = Field(
        default=True, description="有法定赡养、抚养、扶养义务人且其有履行能力 (特困 condition)"
    )
    in_institution: bool = Field(default=False, description="集中供养 / 福利机构养育 (vs 分散 / 散居)")

    def age_on(self, on: date) -> int:
        """周岁 on a date."""
        return age_on(self.birth_date, on)

    def last_day_under(self, age: int) -> date:
        """The last day the member is under `age` (周岁)."""
        return last_day_under(self.birth_date, age)


class IncomeItem(BaseModel):
    """One monthly income source (家庭收入), net of costs as 57号 requires.

    ``member_id`` is the earner; ``None`` means income of the household as a whole (e.g. land transfer rent).
    """

    model_config = _FROZEN

    member_id: UUID | None = None
    kind: IncomeKind
    subkind: str = Field(min_length=1, description="e.g. salary, farming, rent, social_assistance, basic_pension")
    monthly_amount_fen: Fen

    @property
    def exempt(self) -> bool:
        """不计入家庭收入: derived from ``subkind``, never sent, so producers cannot disagree with the
        rule."""
        return is_exempt_income(self.subkind)


class PropertyItem(BaseModel):
    """One asset (家庭财产). Each item is one asset, so e.g. two flats are two ``housing`` items."""

    model_config = _FROZEN

    kind: PropertyKind
    value_fen: Fen
    description: str = ""


class RigidExpense(BaseModel):
    """刚性支出 over the last 12 months: medical, education, rehabilitation, other (out of pocket)."""

    model_config = _FROZEN

    kind: RigidExpenseKind
    amount_fen_12m: Fen
    description: str = ""


class HouseholdSnapshot(BaseModel):
    """家庭快照: everything eligibility needs about one household at one moment.

    ``region_code`` is the 12-digit village (村/社区) code of the household's 户籍.
    """

    model_config = _FROZEN

    household_id: UUID
    region_code: str = Field(pattern=r"^[0-9]{12}$")
    hukou_type: HukouType
    members: list[MemberFacts] = Field(min_length=1)
    incomes: list[IncomeItem] = Field(default_factory=list)
    properties: list[PropertyItem] = Field(default_factory=list)
    rigid_expenses: list[RigidExpense] = Field(default_factory=list)

    # Checks across fields as field validators, so a 422 names the field (`members`, `incomes`), not the snapshot.
    @field_validator("members")
    @classmethod
    def _members_unique(cls, members: list[MemberFacts]) -> list[MemberFacts]:
        ids = [m.member_id for m in members]
        if len(ids) != len(set(ids)):
            raise ValueError("member_id values must be unique within a household")
        return members

    @field_validator("incomes")
    @classmethod
    def _incomes_of_members(cls, incomes: list[IncomeItem], info: ValidationInfo) -> list[IncomeItem]:
        if "members" not in info.data:  # the members were refused: that error is the one to fix
            return incomes
        known = {m.member_id for m in info.data["members"]}
        for i, item in enumerate(incomes):
            if item.member_id is not None and item.member_id not in known:
                raise ValueError(f"income {i} refers to unknown member {item.member_id}")
        return incomes

    @property
    def county_code(self) -> str:
        """The 6-digit county (县级) code whose parameters normally apply."""
        return self.region_code[:6]

    def counted_members(self) -> list[MemberFacts]:
        """共同生活家庭成员: the members whose income and needs count."""
        return [m for m in self.members if m.counted]

    def member(self, member_id: UUID) -> MemberFacts:
        """The member with this id; ``KeyError`` if absent."""
        for m in self.members:
            if m.member_id == member_id:
                return m
        raise KeyError(member_id)
