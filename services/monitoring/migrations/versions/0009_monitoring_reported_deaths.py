"""reported_deaths: each member monitoring reported dead to eligibility (death.reported), once per member

Revision ID: monitoring_reported_deaths
Revises: monitoring_feed_key_region
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_reported_deaths"
down_revision: str | None = "monitoring_feed_key_region"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The deaths already reported by a recipient_death alert (before this table, one member per alert, in its trace's
# observation): the earliest alert of each member.
_BACKFILL = """
INSERT INTO monitoring.reported_deaths (member_id, household_id, region_code, death_date, alert_id, reported_on)
SELECT DISTINCT ON ((trace -> 'observed' ->> 'member_id')::uuid)
       (trace -> 'observed' ->> 'member_id')::uuid, household_id, region_code,
       (trace -> 'observed' ->> 'death_date')::date, id, raised_on
FROM monitoring.alerts
WHERE alert_type = 'recipient_death' AND outcome = 'death_reported' AND trace -> 'observed' ? 'member_id'
ORDER BY (trace -> 'observed' ->> 'member_id')::uuid, raised_on, created_at
"""


def upgrade() -> None:
    op.create_table(
        "reported_deaths",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        schema="monitoring",
    )
    op.create_index(
        "ix_reported_deaths_region_code_reported_on",
        "reported_deaths",
        ["region_code", "reported_on"],
        schema="monitoring",
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table("reported_deaths", schema="monitoring")
