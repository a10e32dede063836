"""evidence bytes in PostgreSQL (evidence_chunks) instead of a shared volume

Revision ID: 0004_intake_evidence_blobs
Revises: intake_versions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_intake_evidence_blobs"
down_revision: str | None = "intake_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_chunks",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "seq", name=op.f("pk_evidence_chunks")),
        schema="intake",
    )
    # PDF, JPEG and PNG are compressed already: store the chunks out of line without trying to compress them again.
    op.execute("ALTER TABLE intake.evidence_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("evidence_chunks", schema="intake")
