"""villages.announced: the county's village list told to the other services (villages.loaded.v1); lists loaded
before the event existed are marked not yet announced, so the worker's back-fill announces them once

Revision ID: intake_villages_announced
Revises: intake_outbox_payload_json
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_villages_announced"
down_revision: str | None = "intake_outbox_payload_json"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "villages", sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.false()), schema="intake"
    )
    op.alter_column("villages", "announced", server_default=sa.true(), schema="intake")


def downgrade() -> None:
    op.drop_column("villages", "announced", schema="intake")
