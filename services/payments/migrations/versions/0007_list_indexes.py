"""indexes the roll's and the batches' lists page on (shared/pagination.py): each sort key ending in the id

Revision ID: payments_list_indexes
Revises: payments_payee_binding
"""

from collections.abc import Sequence

from alembic import op

revision: str = "payments_list_indexes"
down_revision: str | None = "payments_payee_binding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE (key, id) > (:key, :id) ORDER BY key, id LIMIT n`: a range of a b-tree on (key, id). A batch's
# lines page on ix_payment_lines_batch (batch_id, id), there since 0002.
INDEXES = {
    "ix_beneficiaries_created_at_id": ("beneficiaries", ("created_at", "id")),  # GET /beneficiaries
    "ix_batches_created_at_id": ("batches", ("created_at", "id")),  # GET /batches (read backwards: newest first)
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, list(columns), schema="payments")


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table, schema="payments")
