"""applications.origin: how an application came in — `front_desk` or `roll_import` (存量对象导入). The status
said so only until eligibility approved the imported case (`imported` → `approved`), after which a later file
listing the household read it as approved at the front desk. Applications imported before the column are found
by what the import left: the decision it wrote (until the approval replaced it), its staged household naming the
application (until purged), or the `household.import` audit record written in the same transaction as the
application (the same now()).

Revision ID: intake_application_origin
Revises: intake_drafts_list_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_application_origin"
down_revision: str | None = "intake_drafts_list_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE intake.applications a SET origin = 'roll_import'
WHERE a.origin <> 'roll_import' AND (
      a.decision->>'imported' = 'true'
   OR EXISTS (SELECT 1 FROM intake.roll_import_households h WHERE h.application_id = a.id)
   OR EXISTS (SELECT 1 FROM intake.audit_log l
              WHERE l.household_id = a.household_id AND l.action = 'household.import' AND l.at = a.created_at))
"""


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column("origin", sa.String(20), nullable=False, server_default="front_desk"),
        schema="intake",
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("applications", "origin", schema="intake")
