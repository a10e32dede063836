"""persons.active: a member the household no longer lists is kept (active false), matchable for deaths only

Revision ID: monitoring_persons_active
Revises: monitoring_reported_deaths
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_persons_active"
down_revision: str | None = "monitoring_reported_deaths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "persons",
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        schema="monitoring",
    )


def downgrade() -> None:
    op.execute("DELETE FROM monitoring.persons WHERE NOT active")
    op.drop_column("persons", "active", schema="monitoring")
