"""the index one household's overpayments page on (GET /overpayments?household_id=, shared/pagination.py)

Revision ID: payments_overpayments_household
Revises: payments_change_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "payments_overpayments_household"
down_revision: str | None = "payments_change_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The list pages by id: a region's pages are ranges of the primary key; one household's are `WHERE household_id = :h
# AND id > :id ORDER BY id`, a range of (household_id, id) whatever their status (ix_overpayments_person holds the
# open ones only).


def upgrade() -> None:
    op.create_index("ix_overpayments_household_id", "overpayments", ["household_id", "id"], schema="payments")


def downgrade() -> None:
    op.drop_index("ix_overpayments_household_id", "overpayments", schema="payments")
