"""months the old system paid before a county's roll was imported (存量对象导入): counted as paid by the balance

Revision ID: payments_paid_elsewhere
Revises: payments_balance
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_paid_elsewhere"
down_revision: str | None = "payments_balance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    op.create_table(
        "paid_elsewhere",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False, comment="the person of a person-level programme; nil uuid"),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False, comment="the imported case"),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("through_month", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False, comment="the case.approved event that said so"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paid_elsewhere")),
        schema=S,
    )
    op.create_index(
        "ix_paid_elsewhere_person", "paid_elsewhere", ["household_id", "programme", "member_id", "from_month"], schema=S
    )
    op.create_index("uq_paid_elsewhere_case_member", "paid_elsewhere", ["case_id", "member_id"], unique=True, schema=S)


def downgrade() -> None:
    op.drop_table("paid_elsewhere", schema=S)
