"""indexes the households' and applications' lists page on (shared/pagination.py), and a member's name prefix

Revision ID: intake_list_indexes
Revises: intake_live_entitlement
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_list_indexes"
down_revision: str | None = "intake_live_entitlement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE (key, id) < (:key, :id) ORDER BY key DESC, id DESC LIMIT n`: a range of a b-tree on (key, id),
# read backwards. A name search is a range of names in byte order (COLLATE "C", whatever the database's own).
INDEXES = {
    "ix_households_created_at_id": ("households", ["created_at", "id"]),  # GET /households
    "ix_applications_created_at_id": ("applications", ["created_at", "id"]),  # GET /applications
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, schema="intake")
    op.execute('CREATE INDEX ix_members_name_c ON intake.members (name COLLATE "C")')


def downgrade() -> None:
    op.execute("DROP INDEX intake.ix_members_name_c")
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table, schema="intake")
