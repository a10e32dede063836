"""存量对象导入 retention: an import whose staging (sealed rows, households, report lines) was deleted after the
retention period says when; the import row itself stays (its counts, its SHA-256)

Revision ID: intake_roll_import_purge
Revises: intake_roll_imports
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_roll_import_purge"
down_revision: str | None = "intake_roll_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No index: one row per uploaded file, and the worker's look for expired imports reads them all.
    op.add_column(
        "roll_imports",
        sa.Column(
            "purged_at",
            sa.DateTime(timezone=True),
            comment="when its staged rows, households and report lines were deleted",
        ),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_column("roll_imports", "purged_at", schema="intake")
