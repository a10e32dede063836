"""a due date counted without an official holiday calendar is marked provisional

Revision ID: 0002_case_due_date_provisional
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_case_due_date_provisional"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("due_date_provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="eligibility",
    )


def downgrade() -> None:
    op.drop_column("cases", "due_date_provisional", schema="eligibility")
