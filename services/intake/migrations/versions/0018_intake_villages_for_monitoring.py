"""villages announced again: monitoring now keeps the villages' names too (where an alert's household lives, the
monthly report of a village), and its consumer group had passed the lists announced before it did, so the worker's
back-fill announces every county's list once more (eligibility and payments keep the same names: a list replaces the
county's)

Revision ID: intake_villages_for_monitoring
Revises: intake_villages_reannounced
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_villages_for_monitoring"
down_revision: str | None = "intake_villages_reannounced"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE intake.villages SET announced = false")


def downgrade() -> None:
    pass  # announcing a list again changes nothing a downgrade would undo
