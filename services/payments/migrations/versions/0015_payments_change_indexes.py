"""indexes a month's changes are found by (GET /statistics/changes): who joined, stopped or changed amount in a month

Revision ID: payments_change_indexes
Revises: payments_village_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_change_indexes"
down_revision: str | None = "payments_village_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The list starts from the month's changes (a few per cent of the roll) rather than reading the whole roll for them.
INDEXES = {
    "ix_beneficiaries_start_month": ("beneficiaries", "start_month", None),
    "ix_beneficiaries_end_month": ("beneficiaries", "end_month", "end_month IS NOT NULL"),
    "ix_entitlements_amount_changed": (
        "entitlements",
        "from_month",
        "event_type = 'amount_changed' AND superseded_by IS NULL",
    ),
}


def upgrade() -> None:
    for name, (table, column, where) in INDEXES.items():
        op.create_index(name, table, [column], schema="payments", postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    for name, (table, _, _) in INDEXES.items():
        op.drop_index(name, table, schema="payments")
