"""the outbox's payload stored as the CloudEvent's JSON text (`json`, lz4), not parsed into JSONB

Revision ID: intake_outbox_payload_json
Revises: intake_roll_import_purge
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import outbox_payload_as_json, outbox_payload_as_jsonb

revision: str = "intake_outbox_payload_json"
down_revision: str | None = "intake_roll_import_purge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_payload_as_json(op, "intake")


def downgrade() -> None:
    outbox_payload_as_jsonb(op, "intake")
