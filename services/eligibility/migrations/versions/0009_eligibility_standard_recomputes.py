"""standard_recomputes: the 提标 recompute as a job with its progress, and its work list

Revision ID: eligibility_standard_recomputes
Revises: eligibility_village_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "eligibility_standard_recomputes"
down_revision: str | None = "eligibility_village_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standard_recomputes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("scope", sa.String(12), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cases_total", sa.Integer()),
        sa.Column("cases_examined", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cases_changed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cases_unchanged", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cases_needing_review", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("townships", JSONB(), nullable=False, server_default="{}"),
        sa.Column("after_household", UUID(as_uuid=True)),
        sa.Column("after_case", UUID(as_uuid=True)),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        schema="eligibility",
    )
    op.create_index(
        "ix_standard_recomputes_requested_at_id",
        "standard_recomputes",
        ["requested_at", "id"],
        schema="eligibility",
    )
    op.create_table(
        "standard_recompute_cases",
        sa.Column(
            "recompute_id",
            UUID(as_uuid=True),
            sa.ForeignKey("eligibility.standard_recomputes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("household_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=True), primary_key=True),
        schema="eligibility",
    )


def downgrade() -> None:
    op.drop_table("standard_recompute_cases", schema="eligibility")
    op.drop_table("standard_recomputes", schema="eligibility")
