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

# A page of the list is a range of each kind of change after the cursor's id, never a read of the roll: each index
# holds one kind's month with its ids in order.
INDEXES = {
    "ix_beneficiaries_start_month_id": ("beneficiaries", ["start_month", "id"], None),
    "ix_beneficiaries_end_month_id": ("beneficiaries", ["end_month", "id"], "end_month IS NOT NULL"),
    "ix_entitlements_amount_changed": (
        "entitlements",
        ["from_month", "beneficiary_id"],
        "event_type = 'amount_changed' AND superseded_by IS NULL",
    ),
}


def upgrade() -> None:
    for name, (table, columns, where) in INDEXES.items():
        op.create_index(name, table, columns, schema="payments", postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    for name, (table, _, _) in INDEXES.items():
        op.drop_index(name, table, schema="payments")
