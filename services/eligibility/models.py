"""Eligibility's tables (schema `eligibility`)."""

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
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import HouseholdProgrammeColumns, PlatformTables, service_metadata
from shared.places import village_names_table

SCHEMA = "eligibility"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)


class Case(HouseholdProgrammeColumns, Base):
    """案件: one application's way from acceptance to the county decision, and then its life on the roll."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    opened_on: Mapped[date] = mapped_column(Date, comment="受理 date; deadlines count from it")
    status_since: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    due_date_provisional: Mapped[bool] = mapped_column(
        default=False, server_default=false(), comment="counted Monday–Friday: no official holiday calendar"
    )
    separate_register: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, comment="programme facts from the application")
    snapshot: Mapped[dict] = mapped_column(JSONB)
    assessment: Mapped[dict | None] = mapped_column(JSONB, comment="计算依据: the rule's result and trace")
    home_visits: Mapped[int] = mapped_column(default=0)
    county_home_visit: Mapped[bool] = mapped_column(default=False)
    complained: Mapped[bool] = mapped_column(
        default=False, server_default=false(), comment="公示期异议 raised: the county visits before approving"
    )
    notice_posted_on: Mapped[date | None] = mapped_column(Date)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(default=False)
    delegated: Mapped[bool] = mapped_column(default=False)
    documents_pending: Mapped[bool] = mapped_column(default=False)
    monthly_amount_fen: Mapped[int | None]
    one_off_amount_fen: Mapped[int | None]
    effective_month: Mapped[date | None] = mapped_column(Date, comment="first day of the month payment starts")
    reasons: Mapped[list | None] = mapped_column(JSONB)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[date | None] = mapped_column(Date)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    exit_last_month: Mapped[date | None] = mapped_column(Date, comment="渐退: first day of the last month paid")
    schedule: Mapped[dict | None] = mapped_column(
        JSONB, comment="待遇: dated segments owed (facts, parameter values, why); NULL before schedules were kept"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    # The lists' pages (migration 0004_list_indexes): each sort key ending in the id.
    __table_args__ = (
        Index("ix_cases_opened_on_id", "opened_on", "id"),
        Index("ix_cases_status_opened_on_id", "status", "opened_on", "id"),
        Index("ix_cases_due_date_id", "due_date", "id"),
        Index("ix_cases_next_review_on_id", "next_review_on", "id"),
    )


class CaseStep(Base):
    """One step taken on a case, by whom, on which date and with which opinion (审批意见)."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String))
    on: Mapped[date] = mapped_column(Date)
    opinion: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HouseholdFacts(Base):
    """The latest snapshot of each household from intake's events, for reviews (定期核查)."""

    __tablename__ = "household_facts"

    household_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12))
    snapshot: Mapped[dict] = mapped_column(JSONB)
    # The household's version at intake (its ETag) the snapshot is of, as its event said: an older one never
    # replaces it. NULL: of no known version (stored before events carried it, or an application's snapshot).
    version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# 村(社区)名称 as the county loaded it at intake (villages.loaded): the division tables stop at townships, and the
# 审核确认表 and the public notices name the village.
village_names = village_names_table(Base.metadata)


class StandardRecompute(Base):
    """提标重算: the re-pricing a dated value (policy.standard_changed) asks for, run by the worker chunk by chunk
    (`services/eligibility/recompute/jobs.py`): its progress and what it changed per township, as it goes."""

    __tablename__ = "standard_recomputes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, comment="uuid5 of region, key and start: one per value")
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True, comment="the order they are run in")
    region: Mapped[str] = mapped_column(String(12), comment="'national' or the value's GB/T 2260 code")
    scope: Mapped[str] = mapped_column(String(12), comment="the region prefix whose cases it re-prices")
    key: Mapped[str] = mapped_column(String(100))
    start: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(200), comment="the event's, carried by what it emits")
    status: Mapped[str] = mapped_column(String(20), comment="queued, running, done")
    cases_total: Mapped[int | None] = mapped_column(comment="cases priced with the key, counted when it starts")
    cases_examined: Mapped[int] = mapped_column(default=0)
    cases_changed: Mapped[int] = mapped_column(default=0)
    cases_unchanged: Mapped[int] = mapped_column(default=0)
    cases_needing_review: Mapped[int] = mapped_column(default=0)
    paid_through: Mapped[date] = mapped_column(Date, comment="back-pay counts the months up to this one")
    townships: Mapped[dict] = mapped_column(
        JSONB, default=dict, comment="per township: households, persons, monthly before/after, back-pay (fen)"
    )
    after_household: Mapped[uuid.UUID | None] = mapped_column(comment="resume after this (household, case)")
    after_case: Mapped[uuid.UUID | None]
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_standard_recomputes_requested_at_id", "requested_at", "id"),)


class StandardRecomputeCase(Base):
    """The cases a running recompute still has to re-price, in household order (its work list; emptied when done)."""

    __tablename__ = "standard_recompute_cases"

    recompute_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("standard_recomputes.id", ondelete="CASCADE"), primary_key=True
    )
    household_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class ParameterOverride(Base):
    """A dated parameter value added by an admin (e.g. a standard rise), laid over the shipped YAML tree."""

    __tablename__ = "parameter_overrides"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(100))
    start: Mapped[date] = mapped_column(Date)
    value: Mapped[dict] = mapped_column(JSONB, comment="{'v': <value as in the YAML files>}")
    reference: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("region", "key", "start"),)
