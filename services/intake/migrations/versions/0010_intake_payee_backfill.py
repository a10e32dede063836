"""households whose bank account payments has never heard of: announced once by the worker

Releases up to 2026-11-24 kept bank accounts at intake but emitted no payee.changed, so payments has no payee for
them and every batch fails their lines ("no bank account on file"). Sealing the account needs the sealing keys,
which the migration Job does not hold: this marks the households, and the intake worker announces each one
(services/intake/households/payee_backfill.py). A household whose account was announced by a later release is
announced once more, with the same account: payments records it as the current version, nothing else changes.

Revision ID: 0005_intake_payee_backfill
Revises: 0004_intake_evidence_blobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_intake_payee_backfill"
down_revision: str | None = "0004_intake_evidence_blobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "households",
        sa.Column("payee_backfill_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema="intake",
    )
    op.execute("UPDATE intake.households SET payee_backfill_pending = true WHERE bank_account_sealed IS NOT NULL")
    op.create_index(
        "ix_households_payee_backfill_pending",
        "households",
        ["id"],
        schema="intake",
        postgresql_where=sa.text("payee_backfill_pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_households_payee_backfill_pending", table_name="households", schema="intake")
    op.drop_column("households", "payee_backfill_pending", schema="intake")
