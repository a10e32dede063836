"""what is owed indexed by the case that set it (GET /beneficiaries/{id}/entitlements: a beneficiary's history)

Revision ID: payments_owed_case_index
Revises: payments_owed_month_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "payments_owed_case_index"
down_revision: str | None = "payments_owed_month_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The history shows superseded rows too, which the partial indexes of rows in force leave out: without this, each
# beneficiary's history read the whole of `owed`.
def upgrade() -> None:
    op.create_index("ix_owed_case_id", "owed", ["case_id"], schema="payments")


def downgrade() -> None:
    op.drop_index("ix_owed_case_id", "owed", schema="payments")
