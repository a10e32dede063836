"""Intake's tables (schema `intake`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, Text, false, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlatformTables, service_metadata
from shared.idempotency import idempotency_table

SCHEMA = "intake"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class Household(Base):
    """户: a household registered at its township of 户籍. Economic facts are value lists checked by
    `shared.household` models; members are rows because a person may belong to one active household only."""

    __tablename__ = "households"
    # GET /households pages on it (migration 0004_list_indexes).
    __table_args__ = (Index("ix_households_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    hukou_type: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(Text)
    incomes: Mapped[list] = mapped_column(JSONB, default=list)
    properties: Mapped[list] = mapped_column(JSONB, default=list)
    rigid_expenses: Mapped[list] = mapped_column(JSONB, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Where benefits are paid. The account number is needed in full for the bank file, so it is stored, but it
    # is only ever shown masked and never logged or put in events.
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account_holder: Mapped[str | None] = mapped_column(String(100))
    bank_account_number: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


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
        # GET /households?name=: a name's prefix as a range in byte order, whatever the database's collation.
        Index("ix_members_name_c", text('name COLLATE "C"')),
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
    applicant_member_id: Mapped[uuid.UUID | None]
    separate_register: Mapped[bool] = mapped_column(default=False)
    separate_register_name: Mapped[str | None] = mapped_column(String(50))
    # Programme-specific facts: {"temporary": {...}} or {"medical": {...}}, shaped as eligibility reads them.
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # A withdrawal is a request eligibility answers: requested → accepted (case withdrawn) or refused (decided).
    withdrawal: Mapped[str | None] = mapped_column(String(20))
    withdrawal_refused_because: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[uuid.UUID | None]
    case_status: Mapped[str | None] = mapped_column(String(40))
    next_deadline: Mapped[date | None] = mapped_column(Date)
    next_deadline_provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    decision: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        # One open application per household and programme (409 otherwise); a pending withdrawal still holds it.
        Index(
            "uq_applications_open",
            "household_id",
            "programme",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'in_review', 'withdrawal_requested')"),
        ),
        Index("ix_applications_created_at_id", "created_at", "id"),  # GET /applications pages on it
    )


class Evidence(Base):
    """证明材料: one uploaded file for an application. The bytes live in the evidence store under
    their SHA-256 (content-addressed, so a retried upload or a crash before commit leaves at most one
    harmless copy); the row says which application and which required document it is."""

    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Village(Base):
    """村级 region (居委会/村委会) as the county loaded it from the statistics bureau's 统计用区划代码 table.

    Once a township has villages here, a household of that township must use one of their codes."""

    __tablename__ = "villages"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), index=True)
    name: Mapped[str] = mapped_column(String(100))
    urban_rural_class: Mapped[str] = mapped_column(String(3))  # 城乡分类代码: 111 主城区 … 220 村庄
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    loaded_by: Mapped[str] = mapped_column(String(200))


class LastPayment(Base):
    """The household's latest payment outcome as payments reported it (payment.paid / payment.failed), so the front
    desk can answer "was I paid?" without asking finance."""

    __tablename__ = "last_payments"

    household_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payment_id: Mapped[uuid.UUID]
    programme: Mapped[str] = mapped_column(String(30))
    period: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), comment="paid or failed")
    reason: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApplicationDraft(Base):
    """申请草稿: monitoring's township verification brought a household into assistance; the front desk completes
    it as an application (it counts as done once an application for the programme is submitted after it)."""

    __tablename__ = "application_drafts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    alert_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    household_id: Mapped[uuid.UUID] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    programme: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
