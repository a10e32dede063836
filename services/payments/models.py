"""Payments' tables (schema `payments`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import HouseholdProgrammeColumns, PlatformTables, service_metadata
from shared.places import village_names_table

SCHEMA = "payments"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)
# 村(社区)名称 as the county loaded it at intake (villages.loaded), for the 花名册 and the county view.
village_names = village_names_table(Base.metadata)

# A line that is neither failed, cancelled nor reversed (退汇) holds money: paid, or on its way to the bank.
LIVE_LINE = "status NOT IN ('failed', 'cancelled', 'reversed')"
# The member key of a household-level programme's owed rows and lines (低保, 边缘: the household as a whole).
HOUSEHOLD = uuid.UUID(int=0)


class Beneficiary(HouseholdProgrammeColumns, Base):
    """保障对象: one household on the roll for one programme, from an approved case. The amounts month by month are
    its entitlement rows; `monthly_amount_fen` is only the latest, for display."""

    __tablename__ = "beneficiaries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    monthly_amount_fen: Mapped[int]
    persons: Mapped[int] = mapped_column(default=1, server_default="1", comment="members covered (人)")
    start_month: Mapped[date] = mapped_column(Date, comment="first day of the first month paid")
    end_month: Mapped[date | None] = mapped_column(Date, comment="first day of the last month paid, once known")
    status: Mapped[str] = mapped_column(String(20), default="active", comment="active, exiting, stopped")
    end_reason: Mapped[str | None] = mapped_column(String(20), comment="停保 reason: death, fraud, moved, …")
    tekun_arrangement: Mapped[str | None] = mapped_column(
        String(20), comment="特困: institution (集中供养) or home (分散供养); null for other programmes or unknown"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # GET /beneficiaries pages on it (migration 0007_list_indexes).
    __table_args__ = (Index("ix_beneficiaries_created_at_id", "created_at", "id"),)


class Entitlement(Base):
    """应发: from `from_month` to `to_month` (inclusive; open-ended when null) the beneficiary is owed
    `monthly_amount_fen` a month, as set by decision event `event_id`. Rows are never edited away: a later decision
    supersedes them (`superseded_by`), so the history of what was decided when stays readable."""

    __tablename__ = "entitlements"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    from_month: Mapped[date] = mapped_column(Date)
    to_month: Mapped[date | None] = mapped_column(Date)
    monthly_amount_fen: Mapped[int]
    event_id: Mapped[uuid.UUID] = mapped_column(comment="the decision event that set this row")
    event_type: Mapped[str] = mapped_column(String(40))
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(comment="the later decision event that replaced it")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index(
            "ix_entitlements_in_force", "beneficiary_id", "from_month", postgresql_where=text("superseded_by IS NULL")
        ),
        Index("ix_entitlements_event_id", "event_id"),
        # "Already applied?" asks by the superseding event too (`decisions_applied`); only superseded rows have one.
        Index("ix_entitlements_superseded_by", "superseded_by", postgresql_where=text("superseded_by IS NOT NULL")),
    )


class Owed(Base):
    """应发: what one person (household, programme, member) is owed from `from_month` to `to_month` (inclusive;
    open-ended when null), `amount_fen` a month, as set by decision event `event_id` of case `case_id`. Keyed by person,
    not by case, so a second case or a replay never owes a month twice; a later decision supersedes the rows from its
    `changed_from` on (`superseded_by`), never edits them, so what was decided when stays readable."""

    __tablename__ = "owed"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID]
    programme: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[uuid.UUID] = mapped_column(comment="the person of a person-level programme; nil uuid")
    region_code: Mapped[str] = mapped_column(String(12))
    case_id: Mapped[uuid.UUID] = mapped_column(comment="the case whose decision set this row")
    persons: Mapped[int]
    from_month: Mapped[date] = mapped_column(Date)
    to_month: Mapped[date | None] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(30))
    superseded_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index(
            "ix_owed_in_force",
            "household_id",
            "programme",
            "member_id",
            "from_month",
            postgresql_where=text("superseded_by IS NULL"),
        ),
        Index("ix_owed_region", "region_code", "household_id", postgresql_where=text("superseded_by IS NULL")),
        Index("ix_owed_event_id", "event_id"),
        # A month's changes (GET /statistics/changes): the rows in force starting or ending in it, by person
        # (0017_payments_owed_month_indexes).
        Index(
            "ix_owed_from_month",
            "from_month",
            "household_id",
            "programme",
            "member_id",
            postgresql_where=text("superseded_by IS NULL"),
        ),
        Index(
            "ix_owed_to_month",
            "to_month",
            "household_id",
            "programme",
            "member_id",
            postgresql_where=text("superseded_by IS NULL AND to_month IS NOT NULL"),
        ),
        # A beneficiary's entitlement history: every row its case set, superseded ones too
        # (0018_payments_owed_case_index).
        Index("ix_owed_case_id", "case_id"),
        # "Already applied?" asks by the superseding event too (`applied`); only superseded rows have one.
        Index("ix_owed_superseded_by", "superseded_by", postgresql_where=text("superseded_by IS NOT NULL")),
    )


class PaidElsewhere(Base):
    """已由原系统发放: months `from_month`…`through_month` of one person (household, programme, member; keyed as
    `owed`) that the old national system paid at `amount_fen` a month before the county's roll was imported
    (存量对象导入, `case.approved`'s `paid_elsewhere_through`). The balance counts them as paid, so a batch pays only
    what is owed beyond them (a back-dated 提标: the difference)."""

    __tablename__ = "paid_elsewhere"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID]
    programme: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[uuid.UUID] = mapped_column(comment="the person of a person-level programme; nil uuid")
    region_code: Mapped[str] = mapped_column(String(12))
    case_id: Mapped[uuid.UUID] = mapped_column(comment="the imported case")
    from_month: Mapped[date] = mapped_column(Date)
    through_month: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[uuid.UUID] = mapped_column(comment="the case.approved event that said so")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_paid_elsewhere_person", "household_id", "programme", "member_id", "from_month"),
        Index("uq_paid_elsewhere_case_member", "case_id", "member_id", unique=True),
    )


class ScheduledCase(Base):
    """A case eligibility has sent a schedule for (`case.schedule_changed`): from then on only schedules set what it
    owes; before, its approval and amount changes do, as they always did."""

    __tablename__ = "scheduled_cases"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(comment="the first schedule event of the case")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OneOffAward(HouseholdProgrammeColumns, Base):
    """一次性救助: an approved 临时救助 / 医疗救助 amount, paid exactly once in some batch of its region."""

    __tablename__ = "one_off_awards"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    amount_fen: Mapped[int]
    persons: Mapped[int] = mapped_column(default=1)
    approved_month: Mapped[date] = mapped_column(Date)
    event_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Payee(Base):
    """收款账户, one version per change: the account sealed as it arrived from intake (never stored in clear).
    Lines point at the version current when their batch was created."""

    __tablename__ = "payees"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(index=True)
    key_id: Mapped[str | None] = mapped_column(String(50))
    sealed: Mapped[str | None] = mapped_column(Text)
    account_last4: Mapped[str | None] = mapped_column(String(4))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CurrentPayee(Base):
    """The payee version batches created from now on use (one row per household)."""

    __tablename__ = "current_payees"

    household_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payee_id: Mapped[int | None] = mapped_column(BigInteger, comment="null: no account on file")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Batch(Base):
    """发放批次 (the rows of a `DisbursementBatch`)."""

    __tablename__ = "batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    case_ids: Mapped[list | None] = mapped_column(JSONB, comment="urgent batches: the one-off cases to pay")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    build_cursor: Mapped[uuid.UUID | None] = mapped_column(comment="last beneficiary id whose lines are committed")
    line_count: Mapped[int | None] = mapped_column(BigInteger, comment="envelope, fixed when the build finishes")
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    recovery_percent: Mapped[int] = mapped_column(
        SmallInteger,
        default=0,
        server_default="0",
        comment="regular batches: at most this share of each line is withheld to recover overpayments",
    )

    __table_args__ = (
        # One live regular batch per region and month: a second (or concurrent) request finds this one.
        Index(
            "uq_batches_regular",
            "region_code",
            "period",
            unique=True,
            postgresql_where=text("kind = 'regular' AND status <> 'cancelled'"),
        ),
        Index("ix_batches_building", "created_at", postgresql_where=text("status = 'building'")),
        Index("ix_batches_created_at_id", "created_at", "id"),  # GET /batches pages on it
    )


class PaymentLine(Base):
    """发放明细: one payment to one household for one programme and month (or one one-off award)."""

    __tablename__ = "payment_lines"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(comment="UUIDv5 of (beneficiary or case, programme, period, kind)")
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(20), comment="regular, arrears, one_off, reissue, supplement")
    case_id: Mapped[uuid.UUID]
    beneficiary_id: Mapped[uuid.UUID | None]
    household_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID | None] = mapped_column(comment="monthly lines: the person paid (nil: the household)")
    programme: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    persons: Mapped[int] = mapped_column(default=1)
    payee_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), comment="pending, paid, failed, cancelled, reversed (退汇)")
    reason: Mapped[str | None] = mapped_column(Text)
    reissue_of: Mapped[int | None] = mapped_column(BigInteger, comment="the failed line this one re-issues")
    deducted_fen: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        server_default="0",
        comment="withheld to recover overpayments (扣回): the month's money is amount_fen + deducted_fen",
    )

    __table_args__ = (
        Index("uq_payment_lines_live", "payment_id", unique=True, postgresql_where=text(LIVE_LINE)),
        # A month is paid as `regular` once per person; what follows for it (a rise, a failed line) is 补发.
        Index(
            "uq_payment_lines_regular",
            "household_id",
            "programme",
            "member_id",
            "period",
            unique=True,
            postgresql_where=text(f"kind = 'regular' AND {LIVE_LINE}"),
        ),
        Index("ix_payment_lines_batch", "batch_id", "id"),
        Index("ix_payment_lines_payment_id", "payment_id"),  # a bank return looks every row up by it
        Index("ix_payment_lines_household", "household_id", "period"),
        # A batch's lines say whether the account changed since the household's last paid line: found backwards here.
        Index(
            "ix_payment_lines_household_paid",
            "household_id",
            "id",
            postgresql_where=text("status = 'paid' AND payee_id IS NOT NULL"),
        ),
    )


class BankReturn(Base):
    """回盘文件: a bank result file applied to a batch, known by its sha256 so a re-post changes nothing."""

    __tablename__ = "bank_returns"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batches.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int]
    paid: Mapped[int]
    failed: Mapped[int]
    posted_by: Mapped[str] = mapped_column(String(200))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("uq_bank_returns_file", "batch_id", "sha256", unique=True),)


class Overpayment(Base):
    """多发待追回: money paid for a month beyond what is owed for it now — a month paid after the last month owed (a
    death or 停保 that arrived after the batch went to the bank), or an amount lowered backdated. For finance to
    recover; the open rows of a (beneficiary, month) always sum to paid − owed as last recorded."""

    __tablename__ = "overpayments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    beneficiary_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("beneficiaries.id"))
    case_id: Mapped[uuid.UUID]
    household_id: Mapped[uuid.UUID]
    programme: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[uuid.UUID] = mapped_column(comment="the person (nil uuid: the household)")
    region_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[date] = mapped_column(Date)
    paid_fen: Mapped[int] = mapped_column(BigInteger, comment="live lines of exported batches for the month")
    owed_fen: Mapped[int] = mapped_column(BigInteger, comment="the entitlement in force for the month")
    amount_fen: Mapped[int] = mapped_column(BigInteger, comment="to recover: paid − owed − already recorded")
    reason: Mapped[str] = mapped_column(String(20), comment="after_end (停保/death) or reduced (amount lowered)")
    status: Mapped[str] = mapped_column(
        String(20), default="open", server_default="open", comment="open, waiver_requested, closed"
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_reason: Mapped[str | None] = mapped_column(String(20), comment="restored, repaid, recovered, waived")
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str | None] = mapped_column(String(200), comment="the officer who asked for a waiver")

    __table_args__ = (
        Index("ix_overpayments_region", "region_code", "period"),
        Index("ix_overpayments_beneficiary", "beneficiary_id", "period"),
        Index("ix_overpayments_household_id", "household_id", "id"),  # GET /overpayments?household_id= pages on it
        Index(
            "ix_overpayments_person",
            "household_id",
            "programme",
            "member_id",
            "period",
            postgresql_where=text("status = 'open'"),
        ),
    )


class Deduction(Base):
    """扣回: fen a line of a regular batch withheld to recover an overpayment of the same person. It counts while its
    line holds money (pending or paid): a line that fails, is cancelled or reversed (退汇) gives it back."""

    __tablename__ = "deductions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payment_lines.id"))
    overpayment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("overpayments.id"))
    household_id: Mapped[uuid.UUID]
    programme: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[uuid.UUID]
    region_code: Mapped[str] = mapped_column(String(12))
    period: Mapped[date] = mapped_column(Date, comment="the overpaid month the deduction recovers")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="positive"),
        Index("ix_deductions_line", "line_id"),
        Index("ix_deductions_overpayment", "overpayment_id"),
        Index("ix_deductions_person", "household_id", "programme", "member_id", "period"),
        Index("ix_deductions_region", "region_code"),
    )
