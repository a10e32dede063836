"""entitlement history, one-off awards, sealed payees, disbursement batches, payment lines, bank returns

Revision ID: 0002_payments_batches
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_payments_batches"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"
LIVE = "status NOT IN ('failed', 'cancelled')"


def upgrade() -> None:
    # UUIDv5 payment ids are computed inside INSERT … SELECT (a trusted extension since PostgreSQL 13).
    op.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
    op.add_column(
        "beneficiaries",
        sa.Column("persons", sa.Integer(), server_default="1", nullable=False, comment="members covered (人)"),
        schema=S,
    )
    op.add_column(
        "beneficiaries",
        sa.Column("end_reason", sa.String(20), nullable=True, comment="停保 reason: death, fraud, moved, …"),
        schema=S,
    )
    op.create_table(
        "entitlements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("to_month", sa.Date(), nullable=True),
        sa.Column("monthly_amount_fen", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False, comment="the decision event that set this row"),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("superseded_by", sa.Uuid(), nullable=True, comment="the later decision event that replaced it"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"], [f"{S}.beneficiaries.id"], name=op.f("fk_entitlements_beneficiary_id_beneficiaries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        schema=S,
    )
    op.create_index(
        "ix_entitlements_in_force",
        "entitlements",
        ["beneficiary_id", "from_month"],
        schema=S,
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.create_index("ix_entitlements_event_id", "entitlements", ["event_id"], schema=S)
    # The roll kept one amount per beneficiary until now: that amount becomes its first entitlement row.
    op.execute(f"""
        INSERT INTO {S}.entitlements (beneficiary_id, from_month, to_month, monthly_amount_fen, event_id, event_type)
        SELECT id, start_month, end_month, monthly_amount_fen, case_id, 'migrated' FROM {S}.beneficiaries
    """)
    op.create_table(
        "one_off_awards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("approved_month", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_off_awards")),
        sa.UniqueConstraint("case_id", name=op.f("uq_one_off_awards_case_id")),
        schema=S,
    )
    op.create_index(op.f("ix_one_off_awards_household_id"), "one_off_awards", ["household_id"], schema=S)
    op.create_index(op.f("ix_one_off_awards_region_code"), "one_off_awards", ["region_code"], schema=S)
    op.create_table(
        "payees",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(50), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("account_last4", sa.String(4), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payees")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payees_event_id")),
        schema=S,
    )
    op.create_index(op.f("ix_payees_household_id"), "payees", ["household_id"], schema=S)
    op.create_table(
        "current_payees",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("payee_id", sa.BigInteger(), nullable=True, comment="null: no account on file"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_current_payees")),
        schema=S,
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("case_ids", postgresql.JSONB(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(200), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("build_cursor", sa.Uuid(), nullable=True),
        sa.Column("line_count", sa.BigInteger(), nullable=True),
        sa.Column("total_fen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        schema=S,
    )
    op.create_index(
        "uq_batches_regular",
        "batches",
        ["region_code", "period"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("kind = 'regular' AND status <> 'cancelled'"),
    )
    op.create_index(
        "ix_batches_building", "batches", ["created_at"], schema=S, postgresql_where=sa.text("status = 'building'")
    )
    op.create_table(
        "payment_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reissue_of", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], [f"{S}.batches.id"], name=op.f("fk_payment_lines_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_lines")),
        schema=S,
    )
    op.create_index(
        "uq_payment_lines_live", "payment_lines", ["payment_id"], unique=True, schema=S, postgresql_where=sa.text(LIVE)
    )
    op.create_index(
        "uq_payment_lines_month",
        "payment_lines",
        ["beneficiary_id", "programme", "period"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(f"kind IN ('regular', 'reissue') AND {LIVE}"),
    )
    op.create_index("ix_payment_lines_batch", "payment_lines", ["batch_id", "id"], schema=S)
    op.create_index("ix_payment_lines_household", "payment_lines", ["household_id", "period"], schema=S)
    op.create_table(
        "bank_returns",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("posted_by", sa.String(200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], [f"{S}.batches.id"], name=op.f("fk_bank_returns_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_returns")),
        schema=S,
    )
    op.create_index("uq_bank_returns_file", "bank_returns", ["batch_id", "sha256"], unique=True, schema=S)


def downgrade() -> None:
    for table in (
        "bank_returns",
        "payment_lines",
        "batches",
        "current_payees",
        "payees",
        "one_off_awards",
        "entitlements",
    ):
        op.drop_table(table, schema=S)
    op.drop_column("beneficiaries", "end_reason", schema=S)
    op.drop_column("beneficiaries", "persons", schema=S)
