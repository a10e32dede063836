"""village_names: the villages' names each county loaded at intake (villages.loaded.v1), for the 花名册 and the
county view

Revision ID: payments_village_names
Revises: payments_superseded_by_indexes
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import create_village_names, drop_village_names

revision: str = "payments_village_names"
down_revision: str | None = "payments_superseded_by_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_village_names(op, "payments")


def downgrade() -> None:
    drop_village_names(op, "payments")
