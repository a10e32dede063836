"""the outbox's payload stored as the CloudEvent's JSON text (`json`, lz4), not parsed into JSONB

Revision ID: payments_outbox_payload_json
Revises: payment_lines_payment_id
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import outbox_payload_as_json, outbox_payload_as_jsonb

revision: str = "payments_outbox_payload_json"
down_revision: str | None = "payment_lines_payment_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_payload_as_json(op, "payments")


def downgrade() -> None:
    outbox_payload_as_jsonb(op, "payments")
