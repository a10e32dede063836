"""village_names: the villages' names each county loaded at intake (villages.loaded.v1), for the 花名册 and the
county view

Revision ID: payments_village_names
Revises: payments_superseded_by_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_village_names"
down_revision: str | None = "payments_superseded_by_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "village_names",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_village_names")),
        schema="payments",
    )
    op.create_index("ix_village_names_county_code", "village_names", ["county_code"], schema="payments")


def downgrade() -> None:
    op.drop_index("ix_village_names_county_code", table_name="village_names", schema="payments")
    op.drop_table("village_names", schema="payments")
