"""Intake's tables (schema `intake`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlatformTables, service_metadata

SCHEMA = "intake"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)


class Household(Base):
    """户: a household registered at its township of 户籍. Economic facts are value lists checked by
    `shared.household` models; members are rows because a person may belong to one active household only."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    hukou_type: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(Text)
    incomes: Mapped[list] = mapped_column(JSONB, default=list)
    properties: Mapped[list] = mapped_column(JSONB, default=list)
    rigid_expenses: Mapped[list] = mapped_column(JSONB, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class Member(Base):
    """家庭成员. The resident ID is stored for the economic check but never logged or published;
    `id_fingerprint` (HMAC) enforces one active household per person without indexing the number itself."""

    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18))
    id_fingerprint: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    relation: Mapped[str] = mapped_column(String(20))
    facts: Mapped[dict] = mapped_column(JSONB, default=dict)

    __table_args__ = (
        Index("uq_members_active_person", "id_fingerprint", unique=True, postgresql_where=text("active")),
    )


class Application(Base):
    """申请: one programme for one household; shows the case status eligibility reports back."""

    __tablename__ = "applications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    programme: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    submitted_on: Mapped[date] = mapped_column(Date)
    consent_signed: Mapped[bool]
    separate_register: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    case_id: Mapped[uuid.UUID | None]
    case_status: Mapped[str | None] = mapped_column(String(40))
    next_deadline: Mapped[date | None] = mapped_column(Date)
    decision: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    __table_args__ = (
        # One open application per household and programme (409 otherwise).
        Index("uq_applications_open", "household_id", "programme", unique=True,
              postgresql_where=text("status IN ('submitted', 'in_review')")),
    )
