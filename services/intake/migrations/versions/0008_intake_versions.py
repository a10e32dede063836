"""intake: a version on households and applications (their ETag; If-Match on writes)

Revision ID: intake_versions
Revises: intake_sealed_secrets
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_versions"
down_revision: str | None = "intake_sealed_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    for table in ("households", "applications"):
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False), schema="intake")


def downgrade() -> None:
    for table in ("households", "applications"):
        op.drop_column(table, "version", schema="intake")
