"""decided_standards: the 低保 standards eligibility's admins add at run time (policy.standard_changed)

Revision ID: monitoring_decided_standards
Revises: monitoring_village_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "monitoring_decided_standards"
down_revision: str | None = "monitoring_village_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decided_standards",
        sa.Column("region", sa.String(12), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("value", JSONB(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="monitoring",
    )


def downgrade() -> None:
    op.drop_table("decided_standards", schema="monitoring")
