"""village_names: the villages' names each county loaded at intake (villages.loaded.v1)

Revision ID: eligibility_village_names
Revises: eligibility_outbox_payload_json
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_village_names"
down_revision: str | None = "eligibility_outbox_payload_json"
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
        schema="eligibility",
    )
    op.create_index(
        op.f("ix_village_names_county_code"), "village_names", ["county_code"], unique=False, schema="eligibility"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_village_names_county_code"), table_name="village_names", schema="eligibility")
    op.drop_table("village_names", schema="eligibility")
