"""overpayments recovered by deduction (扣回) from later lines: each line's deducted fen, the deductions it made
against which overpayment, and the share of a line a batch may withhold (fixed when the batch is requested)

Revision ID: payments_deductions
Revises: payments_paid_elsewhere
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_deductions"
down_revision: str | None = "payments_paid_elsewhere"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    op.add_column(
        "payment_lines",
        sa.Column(
            "deducted_fen",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="withheld to recover overpayments (扣回): the month's money is amount_fen + deducted_fen",
        ),
        schema=S,
    )
    op.add_column(
        "batches",
        sa.Column(
            "recovery_percent",
            sa.SmallInteger(),
            server_default="0",
            nullable=False,
            comment="regular batches: at most this share of each line is withheld to recover overpayments",
        ),
        schema=S,
    )
    op.create_table(
        "deductions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("overpayment_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("period", sa.Date(), nullable=False, comment="the overpaid month the deduction recovers"),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], [f"{S}.payment_lines.id"], name=op.f("fk_deductions_line_id_payment_lines")
        ),
        sa.ForeignKeyConstraint(
            ["overpayment_id"], [f"{S}.overpayments.id"], name=op.f("fk_deductions_overpayment_id_overpayments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deductions")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_deductions_positive")),
        schema=S,
    )
    op.create_index("ix_deductions_line", "deductions", ["line_id"], schema=S)
    op.create_index("ix_deductions_overpayment", "deductions", ["overpayment_id"], schema=S)
    op.create_index(
        "ix_deductions_person", "deductions", ["household_id", "programme", "member_id", "period"], schema=S
    )
    op.create_index("ix_deductions_region", "deductions", ["region_code"], schema=S)


def downgrade() -> None:
    op.drop_table("deductions", schema=S)
    op.drop_column("batches", "recovery_percent", schema=S)
    op.drop_column("payment_lines", "deducted_fen", schema=S)
