"""indexes the alerts' lists page on (shared/pagination.py): each sort key ending in the id

Revision ID: monitoring_list_indexes
Revises: 0002_monitoring_feeds_alerts
"""

from collections.abc import Sequence

from alembic import op

revision: str = "monitoring_list_indexes"
down_revision: str | None = "0002_monitoring_feeds_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE (key, id) > (:key, :id) ORDER BY key, id LIMIT n` (or < and DESC): a range of a b-tree on
# (key, id).
INDEXES = {
    "ix_alerts_created_at_id": ["created_at", "id"],  # GET /alerts, newest first
    "ix_alerts_due_date_id": ["due_date", "id"],  # /alerts/overdue, /alerts/due-soon, ?due_before=
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "alerts", columns, schema="monitoring")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "alerts", schema="monitoring")
