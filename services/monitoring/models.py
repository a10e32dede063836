"""Monitoring's tables (schema `monitoring`): its read model of households and persons (from intake's and
eligibility's events) and the villages' names, partner feeds with their rows and error reports, and alerts with
their evidence."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlatformTables, service_metadata
from shared.places import village_names_table

SCHEMA = "monitoring"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)
# 村(社区)名称 as the county loaded it at intake (villages.loaded): where an alert's household lives, by name, and the
# monthly report's area when it is a village.
village_names = village_names_table(Base.metadata)


# --- read model (from intake's and eligibility's events; never another service's tables) -------------------------


class KnownHousehold(Base):
    """A household as intake last described it: where it lives and its counted income (家庭收入)."""

    __tablename__ = "households"

    household_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    hukou_type: Mapped[str] = mapped_column(String(10))
    counted_members: Mapped[int] = mapped_column(Integer)
    monthly_income_fen: Mapped[int] = mapped_column(BigInteger, comment="counted household income per month")
    per_capita_monthly_fen: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownPerson(Base):
    """A member by the keyed fingerprint of their ID number (the number itself never reaches monitoring). One the
    household no longer lists (taken out at the front desk, with or without a date of death) is kept with `active`
    false: not a member for the risk rules, the report or the household's count, but still matched by a partner's
    death row, so eligibility hears of the death."""

    __tablename__ = "persons"

    id_fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    household_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    active: Mapped[bool] = mapped_column(server_default=text("true"))


class Coverage(Base):
    """A programme a household receives (from eligibility's decisions): on the roll while `active`."""

    __tablename__ = "coverage"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(index=True)
    programme: Mapped[str] = mapped_column(String(30))
    member_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    active: Mapped[bool]
    since_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date | None] = mapped_column(Date)


# --- feeds -------------------------------------------------------------------------------------------------------


class Feed(Base):
    """数据比对: one file a partner agency posted, with its progress and result."""

    __tablename__ = "feeds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str] = mapped_column(String(12), comment="the scope the rows must lie in")
    format: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The same file is the same feed only from the same partner for the same region (migration 0008): the same
    # bytes loaded for another region are another feed, which loads that region's rows.
    __table_args__ = (UniqueConstraint("partner", "region_code", "sha256"),)


class FeedError(Base):
    """One rejected row of a feed: its line, the field and why (the partner fetches the report)."""

    __tablename__ = "feed_errors"
    __table_args__ = (Index("ix_feed_errors_feed_id_line_id", "feed_id", "line", "id"),)  # GET /feeds/{id}/errors

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    feed_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)


class FeedRecord(Base):
    """One good row of a feed, typed; matched to a household through `persons` by fingerprint whenever that
    household is known (now or later)."""

    __tablename__ = "feed_records"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No index on feed_id: a feed's rows are found by their id range (see FeedRepository.next_record_id), which
    # spares a million-row COPY one index to maintain.
    feed_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(30))
    line: Mapped[int] = mapped_column(Integer)
    id_fingerprint: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(12))
    event_date: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    category: Mapped[str | None] = mapped_column(String(40))
    grade: Mapped[int | None] = mapped_column(SmallInteger)
    details: Mapped[str | None] = mapped_column(Text)

    # Equality lookups only (a person's rows when their household appears): a hash index is smaller and cheaper
    # to fill than a B-tree of 64-character keys.
    __table_args__ = (Index("ix_feed_records_id_fingerprint", "id_fingerprint", postgresql_using="hash"),)


# --- alerts ------------------------------------------------------------------------------------------------------


class AlertRow(Base):
    """预警: a household at risk, dispatched to its township until verified and closed."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    alert_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    trace: Mapped[dict] = mapped_column(JSONB)
    outcome: Mapped[str | None] = mapped_column(String(30))
    programme: Mapped[str | None] = mapped_column(String(30))
    reasons: Mapped[list | None] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    raised_on: Mapped[date] = mapped_column(Date)
    verified_on: Mapped[date | None] = mapped_column(Date)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # One open alert per household and type: a second match adds evidence to it.
        Index("uq_alerts_open", "household_id", "alert_type", unique=True, postgresql_where=text("status <> 'closed'")),
        # The lists' pages (migration 0003_list_indexes): newest first, and earliest due first.
        Index("ix_alerts_created_at_id", "created_at", "id"),
        Index("ix_alerts_due_date_id", "due_date", "id"),
    )


class AlertEvidence(Base):
    """The feed rows behind an alert."""

    __tablename__ = "alert_evidence"

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class ReportedDeath(Base):
    """A member monitoring reported dead to eligibility (death.reported): once per member, by the first alert that
    found the death; a later source's row for the same death is that alert's evidence, not a second report."""

    __tablename__ = "reported_deaths"
    __table_args__ = (Index("ix_reported_deaths_region_code_reported_on", "region_code", "reported_on"),)

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column()
    region_code: Mapped[str] = mapped_column(String(12))
    death_date: Mapped[date] = mapped_column(Date)
    alert_id: Mapped[uuid.UUID] = mapped_column()
    reported_on: Mapped[date] = mapped_column(Date)


class DecidedStandard(Base):
    """A 低保 standard eligibility's admins added at run time (policy.standard_changed), laid over the shipped tree
    so the risk rules compare incomes with the standard in force, not the one the tree shipped with."""

    __tablename__ = "decided_standards"

    region: Mapped[str] = mapped_column(String(12), primary_key=True, comment="'national' or a GB/T 2260 code")
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[dict] = mapped_column(JSONB, comment="{'v': <value as in the YAML files>}")
    reference: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
