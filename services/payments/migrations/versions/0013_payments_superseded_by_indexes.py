"""the roll's histories indexed by the event that superseded a row (the "already applied?" look-up of every run)

Revision ID: payments_superseded_by_indexes
Revises: payments_outbox_payload_json
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_superseded_by_indexes"
down_revision: str | None = "payments_outbox_payload_json"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every run of decisions asks which of its events already shaped a history, by `event_id` (indexed) or by
# `superseded_by` (not): each run read the whole of `owed` and `entitlements`, so a province's import cost grew
# with the square of its roll (bench/README.md). Partial: a row in force has no superseding event.
INDEXES = {"ix_owed_superseded_by": "owed", "ix_entitlements_superseded_by": "entitlements"}


def upgrade() -> None:
    for name, table in INDEXES.items():
        op.create_index(
            name, table, ["superseded_by"], schema="payments", postgresql_where=sa.text("superseded_by IS NOT NULL")
        )


def downgrade() -> None:
    for name, table in INDEXES.items():
        op.drop_index(name, table_name=table, schema="payments")
