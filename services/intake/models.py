"""Intake's tables (schema `intake`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlatformTables, service_metadata
from shared.events.catalogue import ONE_OFF, RECURRING
from shared.idempotency import idempotency_table

SCHEMA = "intake"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class Household(Base):
    """户: a household registered at its township of 户籍. Economic facts are value lists checked by
    `shared.core.household` models; members are rows because a person may belong to one active household only."""

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
    # Where benefits are paid. The account number is needed in full for the bank file: it is stored sealed
    # (services/intake/sealed.py, bound to this row and to `bank_account_changed_at`), shown by its last four
    # digits only, never logged or put in events in clear.
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account_holder: Mapped[str | None] = mapped_column(String(100))
    bank_account_sealed: Mapped[str | None] = mapped_column(Text)
    bank_account_key_id: Mapped[str | None] = mapped_column(String(50))
    bank_account_last4: Mapped[str | None] = mapped_column(String(4))
    bank_account_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An account put on file before payee.changed existed (releases up to 2026-11-24) never reached payments:
    # the intake worker announces it once (backfills.py) and clears this.
    payee_backfill_pending: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Bumped by every write of the household, its members or its economic facts (the ORM's version counter):
    # the ETag a write's If-Match must name, so two desks never silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}

    @property
    def household_id(self) -> uuid.UUID:
        """A household's records are filed under itself (an audit record about it: `shared.audit.OfHousehold`)."""
        return self.id


class Member(Base):
    """家庭成员. The resident ID is stored sealed for the economic check, never logged or published;
    `id_fingerprint` (HMAC) enforces one active household per person without indexing the number itself."""

    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The resident ID sealed (services/intake/sealed.py, bound to this row), opened only for the economic check;
    # the masked form is what reads show.
    id_number_sealed: Mapped[str] = mapped_column(Text)
    id_number_key_id: Mapped[str] = mapped_column(String(50))
    id_number_masked: Mapped[str] = mapped_column(String(18))
    id_fingerprint: Mapped[str] = mapped_column(String(64))
    # The crypto profile the fingerprint was made under (standard: HMAC-SHA256, gm: HMAC-SM3); the re-sealing job
    # recomputes those of another profile.
    fingerprint_profile: Mapped[str] = mapped_column(String(10), default="standard", server_default="standard")
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


OPEN = ("submitted", "in_review", "withdrawal_requested")
#: An application holding its household's slot for its programme: open, or approved (or imported with the county's
#: roll, 存量对象导入) and not stopped. One-off help (临时救助, 医疗救助) holds none: each claim (a hospital stay, an
#: emergency) is paid once, and a household may have several open (migration 0021).
LIVE = (
    f"programme NOT IN ({', '.join(repr(p) for p in ONE_OFF)}) AND (status IN ({', '.join(repr(s) for s in OPEN)}) "
    f"OR (status IN ('approved', 'imported') AND programme IN ({', '.join(repr(p) for p in RECURRING)}) "
    "AND case_status IS DISTINCT FROM 'terminated'))"
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
    # front_desk or roll_import (存量对象导入): kept apart from the status, which eligibility's approval moves on.
    origin: Mapped[str] = mapped_column(String(20), default="front_desk", server_default="front_desk")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Bumped by every write (amendment, withdrawal, the case's status mirrored): the application's ETag.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}

    __table_args__ = (
        # One live application per household and programme (409 otherwise): an open one (a pending withdrawal still
        # holds it) or, for the programmes paid month by month, an approved one whose case is not stopped — a review
        # is the way to change what a household receives. One-off claims are not counted (LIVE).
        Index("uq_applications_live", "household_id", "programme", unique=True, postgresql_where=text(LIVE)),
        Index("ix_applications_created_at_id", "created_at", "id"),  # GET /applications pages on it
    )


class Evidence(Base):
    """证明材料: one uploaded file for an application. The bytes live in `evidence_chunks` under their SHA-256
    (content-addressed: the same file uploaded twice is stored once); the row says which application and which
    required document it is."""

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


class EvidenceChunk(Base):
    """The bytes of the evidence files (证明材料), by SHA-256, in chunks read and written one at a time
    (applications/evidence_store.py): in PostgreSQL beside their rows, committed with them, so a county's
    cluster needs no shared volume."""

    __tablename__ = "evidence_chunks"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


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
    # Told the other services (villages.loaded). A list loaded before the event existed is announced once by the
    # worker's back-fill (migration 0016 marks those rows).
    announced: Mapped[bool] = mapped_column(Boolean, server_default=true())


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
    __table_args__ = (Index("ix_application_drafts_created_at_id", "created_at", "id"),)  # GET /application-drafts

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    alert_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    household_id: Mapped[uuid.UUID] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    programme: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RollImport(Base):
    """存量对象导入: one upload of a county's current recipients. `validating` (the dry run) → `validated` (its
    report) → `importing` (committed chunk by chunk, `commit_cursor` the last household done) → `imported`; or
    `failed` (the dry run could not finish, or a chunk of the import failed for what it holds: `error`; the
    import's is taken up again by POST …/commit). One per file (SHA-256) and region. Its staging (rows,
    households, report lines) is deleted once unchanged for the retention period, never while `importing`:
    `purged_at`; the import row stays."""

    __tablename__ = "roll_imports"
    __table_args__ = (
        Index("uq_roll_imports_region_sha256", "region_code", "sha256", unique=True),
        Index("ix_roll_imports_pending", "status", postgresql_where=text("status IN ('validating', 'importing')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    region_code: Mapped[str] = mapped_column(String(12))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    paid_through: Mapped[date] = mapped_column(Date, comment="the first day of the last month the old system paid")
    all_or_nothing: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    validate_cursor: Mapped[int] = mapped_column(BigInteger, default=0, comment="last household seq checked")
    commit_cursor: Mapped[int] = mapped_column(BigInteger, default=0, comment="last household seq committed")
    report: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    committed_by: Mapped[str | None] = mapped_column(String(200))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when its staged rows, households and report lines were deleted"
    )


class RollImportRow(Base):
    """One member row of a roll file as staged by the upload (COPY): checked, the ID number sealed for the member
    it becomes and fingerprinted, the account sealed for the household (and for payments' payee event) — nothing
    in clear. A row refused by its own columns keeps only its line, household and why."""

    __tablename__ = "roll_import_rows"
    # A household's rows (every chunk of both jobs reads them by household).
    __table_args__ = (Index("ix_roll_import_rows_household", "import_id", "household_ref", "line"),)

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roll_imports.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_ref: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID | None]
    name: Mapped[str | None] = mapped_column(String(100))
    relation: Mapped[str | None] = mapped_column(String(20))
    sex: Mapped[str | None] = mapped_column(String(6))
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_key_id: Mapped[str | None] = mapped_column(String(50))
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    id_fingerprint: Mapped[str | None] = mapped_column(String(64))
    covered: Mapped[bool | None] = mapped_column(Boolean)
    income_fen: Mapped[int | None] = mapped_column(BigInteger)
    facts: Mapped[dict | None] = mapped_column(JSONB)
    household: Mapped[dict | None] = mapped_column(JSONB, comment="the household columns this row fills in")
    account_sealed: Mapped[str | None] = mapped_column(Text)
    account_key_id: Mapped[str | None] = mapped_column(String(50))
    account_last4: Mapped[str | None] = mapped_column(String(4))
    payee_sealed: Mapped[str | None] = mapped_column(Text)
    payee_key_id: Mapped[str | None] = mapped_column(String(50))
    error_field: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)


class RollImportHousehold(Base):
    """A household of a roll file as the dry run judged it: `ok` (to create), `refused`, `skipped` (already
    receiving the programme), then `imported`. `seq` orders the households by their first line: the chunks of
    both jobs."""

    __tablename__ = "roll_import_households"
    __table_args__ = (Index("ix_roll_import_households_ref", "import_id", "household_ref", unique=True),)

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roll_imports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_ref: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[uuid.UUID]
    application_id: Mapped[uuid.UUID]
    first_line: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    values: Mapped[dict | None] = mapped_column(JSONB, comment="the household's columns resolved from its rows")
    covered_member_ids: Mapped[list | None] = mapped_column(JSONB)
    computed_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    amount_differs: Mapped[bool] = mapped_column(Boolean, default=False)


class RollImportIssue(Base):
    """The dry run's report, line by line: `refused` (field and why), `amount_differs` (kept as paid, flagged for
    review), `skipped` (already receiving the programme) or `joined`. Never the ID number."""

    __tablename__ = "roll_import_issues"
    __table_args__ = (Index("ix_roll_import_issues_household", "import_id", "household_ref"),)

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roll_imports.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    household_ref: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
