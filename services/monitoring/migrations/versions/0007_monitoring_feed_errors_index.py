"""the index a feed's error report pages on (GET /feeds/{id}/errors, shared/pagination.py), in place of the feed's

Revision ID: monitoring_feed_errors_index
Revises: monitoring_decided_standards
"""

from collections.abc import Sequence

from alembic import op

revision: str = "monitoring_feed_errors_index"
down_revision: str | None = "monitoring_decided_standards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE feed_id = :feed AND (line, id) > (:line, :id) ORDER BY line, id LIMIT n`: a range of a b-tree on
# (feed_id, line, id). It serves what ix_feed_errors_feed_id served (the cascade from a feed), so that one goes.


def upgrade() -> None:
    op.create_index("ix_feed_errors_feed_id_line_id", "feed_errors", ["feed_id", "line", "id"], schema="monitoring")
    op.drop_index("ix_feed_errors_feed_id", "feed_errors", schema="monitoring")


def downgrade() -> None:
    op.create_index("ix_feed_errors_feed_id", "feed_errors", ["feed_id"], schema="monitoring")
    op.drop_index("ix_feed_errors_feed_id_line_id", "feed_errors", schema="monitoring")
