"""intake: application drafts from monitoring's verifications

Revision ID: 0003_intake_application_drafts
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_intake_application_drafts"
down_revision: str | None = "0003_intake_last_payment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "application_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_drafts")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_application_drafts_alert_id")),
        schema="intake",
    )
    op.create_index("ix_application_drafts_household_id", "application_drafts", ["household_id"], schema="intake")
    op.create_index("ix_application_drafts_region_code", "application_drafts", ["region_code"], schema="intake")


def downgrade() -> None:
    op.drop_table("application_drafts", schema="intake")
