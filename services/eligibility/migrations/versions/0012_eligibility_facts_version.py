"""household_facts.version: the household's version at intake (its ETag) the latest facts are of

A review (定期核查) entered right after the front desk changed the household priced the facts eligibility held
before the change, its `household.updated` still on its way. Intake's household events now carry the version they
are of: an older one never replaces newer facts, and a review waits (409) while the facts of the version the front
desk holds have not arrived. NULL: facts stored before the events carried it (or from an application's snapshot),
of no known version.

Revision ID: eligibility_facts_version
Revises: eligibility_stale_notice_dates
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_facts_version"
down_revision: str | None = "eligibility_stale_notice_dates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("household_facts", sa.Column("version", sa.Integer(), nullable=True), schema="eligibility")


def downgrade() -> None:
    op.drop_column("household_facts", "version", schema="eligibility")
