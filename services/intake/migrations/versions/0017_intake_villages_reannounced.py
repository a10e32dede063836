"""villages announced again: payments now keeps the villages' names too (its 花名册 and the county view), and its
consumer group had passed the lists announced before it did, so the worker's back-fill announces every county's list
once more (eligibility keeps the same names: a list replaces the county's)

Revision ID: intake_villages_reannounced
Revises: intake_villages_announced
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_villages_reannounced"
down_revision: str | None = "intake_villages_announced"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE intake.villages SET announced = false")


def downgrade() -> None:
    pass  # announcing a list again changes nothing a downgrade would undo
