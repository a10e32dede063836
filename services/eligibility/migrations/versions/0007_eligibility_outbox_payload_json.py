"""the outbox's payload stored as the CloudEvent's JSON text (`json`, lz4), not parsed into JSONB

Revision ID: eligibility_outbox_payload_json
Revises: eligibility_list_indexes
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import outbox_payload_as_json, outbox_payload_as_jsonb

revision: str = "eligibility_outbox_payload_json"
down_revision: str | None = "eligibility_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_payload_as_json(op, "eligibility")


def downgrade() -> None:
    outbox_payload_as_jsonb(op, "eligibility")
