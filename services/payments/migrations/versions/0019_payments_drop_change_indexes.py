"""drop the roll's month indexes of 0015: a month's changes are read from what is owed (0017), so every write to
the roll kept three indexes nothing reads

Revision ID: payments_drop_change_indexes
Revises: payments_owed_case_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_drop_change_indexes"
down_revision: str | None = "payments_owed_case_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    for name, (table, _, _) in INDEXES.items():
        op.drop_index(name, table, schema="payments")


def downgrade() -> None:
    for name, (table, columns, where) in INDEXES.items():
        op.create_index(name, table, columns, schema="payments", postgresql_where=sa.text(where) if where else None)
