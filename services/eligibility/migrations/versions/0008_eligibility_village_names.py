"""village_names: the villages' names each county loaded at intake (villages.loaded.v1)

Revision ID: eligibility_village_names
Revises: eligibility_outbox_payload_json
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import create_village_names, drop_village_names

revision: str = "eligibility_village_names"
down_revision: str | None = "eligibility_outbox_payload_json"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_village_names(op, "eligibility")


def downgrade() -> None:
    drop_village_names(op, "eligibility")
