"""payment lines found by payment id whatever their status: a bank return names each row's line by it

Revision ID: payment_lines_payment_id
Revises: payments_deductions
"""

from collections.abc import Sequence

from alembic import op

revision: str = "payment_lines_payment_id"
down_revision: str | None = "payments_deductions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    # The return file's check looks each row's payment id up among all lines (a line of another batch, or settled
    # before): only live lines had an index (uq_payment_lines_live), so every row scanned the table.
    op.create_index("ix_payment_lines_payment_id", "payment_lines", ["payment_id"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_payment_lines_payment_id", "payment_lines", schema=S)
