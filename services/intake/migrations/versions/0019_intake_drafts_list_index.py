"""the index the application drafts' list pages on (GET /application-drafts, shared/pagination.py)

Revision ID: intake_drafts_list_index
Revises: intake_villages_for_monitoring
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_drafts_list_index"
down_revision: str | None = "intake_villages_for_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE (created_at, id) > (:created_at, :id) ORDER BY created_at, id LIMIT n`: a range of a b-tree on
# (created_at, id). One household's drafts are few: ix_application_drafts_household_id (0003) finds them.


def upgrade() -> None:
    op.create_index("ix_application_drafts_created_at_id", "application_drafts", ["created_at", "id"], schema="intake")


def downgrade() -> None:
    op.drop_index("ix_application_drafts_created_at_id", "application_drafts", schema="intake")
