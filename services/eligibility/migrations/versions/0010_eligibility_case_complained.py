"""cases.complained: a public-notice objection (公示期异议) makes the county's home visit compulsory

Revision ID: eligibility_case_complained
Revises: eligibility_standard_recomputes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_case_complained"
down_revision: str | None = "eligibility_standard_recomputes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("complained", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema="eligibility",
    )
    # Cases whose notice drew an objection before the column existed.
    op.execute(
        "UPDATE eligibility.cases c SET complained = true WHERE EXISTS "
        "(SELECT 1 FROM eligibility.case_steps s WHERE s.case_id = c.id AND s.step = 'notice/objections')"
    )


def downgrade() -> None:
    op.drop_column("cases", "complained", schema="eligibility")
