"""overpayments to recover (多发待追回); 特困 care arrangement (集中 / 分散供养) on the beneficiary

Revision ID: 0003_payments_recovery
Revises: 0002_payments_batches
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_payments_recovery"
down_revision: str | None = "0002_payments_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    op.add_column(
        "beneficiaries",
        sa.Column(
            "tekun_arrangement",
            sa.String(20),
            nullable=True,
            comment="特困: institution (集中供养) or home (分散供养); null for other programmes or unknown",
        ),
        schema=S,
    )
    op.create_table(
        "overpayments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False, comment="live lines of exported batches for the month"),
        sa.Column("owed_fen", sa.BigInteger(), nullable=False, comment="the entitlement in force for the month"),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False, comment="to recover: paid − owed − already recorded"),
        sa.Column(
            "reason", sa.String(20), nullable=False, comment="after_end (停保/death) or reduced (amount lowered)"
        ),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["beneficiary_id"], [f"{S}.beneficiaries.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_overpayments_region", "overpayments", ["region_code", "period"], schema=S)
    op.create_index("ix_overpayments_beneficiary", "overpayments", ["beneficiary_id", "period"], schema=S)


def downgrade() -> None:
    op.drop_table("overpayments", schema=S)
    op.drop_column("beneficiaries", "tekun_arrangement", schema=S)
