"""the outbox's payload stored as the CloudEvent's JSON text (`json`, lz4), not parsed into JSONB

Revision ID: monitoring_outbox_payload_json
Revises: monitoring_list_indexes
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import outbox_payload_as_json, outbox_payload_as_jsonb

revision: str = "monitoring_outbox_payload_json"
down_revision: str | None = "monitoring_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_payload_as_json(op, "monitoring")


def downgrade() -> None:
    outbox_payload_as_jsonb(op, "monitoring")
