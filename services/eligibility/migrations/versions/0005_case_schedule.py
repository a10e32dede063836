"""each case keeps its schedule (待遇): the dated segments it owes, with the facts and values they were priced from

Revision ID: eligibility_case_schedule
Revises: 0003_jsonb_lz4
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "eligibility_case_schedule"
down_revision: str | None = "0003_jsonb_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for cases decided before: the repository reads such a case's stored amount as one imported segment
    # from its first month, so nothing needs rewriting here.
    op.add_column(
        "cases",
        sa.Column(
            "schedule",
            JSONB,
            nullable=True,
            comment="待遇: dated segments owed (facts, parameter values, why); NULL before schedules were kept",
        ),
        schema="eligibility",
    )
    op.execute("""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_settings
                       WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                ALTER TABLE eligibility.cases ALTER COLUMN schedule SET COMPRESSION lz4;
            END IF;
        END $$""")


def downgrade() -> None:
    op.drop_column("cases", "schedule", schema="eligibility")
