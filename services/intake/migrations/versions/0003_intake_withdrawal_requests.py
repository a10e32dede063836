"""withdrawal requests: eligibility answers them; the open slot is held until it has. A provisional deadline

Revision ID: 0003_intake_withdrawal_requests
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_intake_withdrawal_requests"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('submitted', 'in_review')"
NEW = "status IN ('submitted', 'in_review', 'withdrawal_requested')"


def upgrade() -> None:
    op.add_column("applications", sa.Column("withdrawal", sa.String(length=20), nullable=True), schema="intake")
    op.add_column("applications", sa.Column("withdrawal_refused_because", sa.Text(), nullable=True), schema="intake")
    op.add_column(
        "applications",
        sa.Column("next_deadline_provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="intake",
    )
    op.drop_index("uq_applications_open", table_name="applications", schema="intake", postgresql_where=sa.text(OLD))
    op.create_index(
        "uq_applications_open",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(NEW),
    )


def downgrade() -> None:
    op.drop_index("uq_applications_open", table_name="applications", schema="intake", postgresql_where=sa.text(NEW))
    op.create_index(
        "uq_applications_open",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(OLD),
    )
    op.drop_column("applications", "next_deadline_provisional", schema="intake")
    op.drop_column("applications", "withdrawal_refused_because", schema="intake")
    op.drop_column("applications", "withdrawal", schema="intake")
