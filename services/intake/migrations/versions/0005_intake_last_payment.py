"""households' last payment status from payments' events

Revision ID: 0003_intake_last_payment
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_intake_last_payment"
down_revision: str | None = "0003_intake_villages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "last_payments",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, comment="paid or failed"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_last_payments")),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("last_payments", schema="intake")
