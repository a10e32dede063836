"""indexes a month's changes are found by in what is owed (GET /statistics/changes, GET /statistics' new / stopped /
changed): the rows in force that start or end in a month

Revision ID: payments_owed_month_indexes
Revises: payments_overpayments_household
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_owed_month_indexes"
down_revision: str | None = "payments_overpayments_household"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A month's changes are the rows in force starting or ending in it, person by person in key order: a page is a range
# of each index after the cursor's person, never a read of the roll.
KEY = ["household_id", "programme", "member_id"]
INDEXES = {
    "ix_owed_from_month": (["from_month", *KEY], "superseded_by IS NULL"),
    "ix_owed_to_month": (["to_month", *KEY], "superseded_by IS NULL AND to_month IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, where) in INDEXES.items():
        op.create_index(name, "owed", columns, schema="payments", postgresql_where=sa.text(where))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "owed", schema="payments")
