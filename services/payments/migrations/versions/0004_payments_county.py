"""county read model: cases (received / decided / due) and alerts (raised / verified), kept from eligibility's and
monitoring's events, so the county statistics never read another service's tables

Revision ID: 0003_payments_county
Revises: 0002_payments_batches
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_payments_county"
down_revision: str | None = "0003_payments_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    op.create_table(
        "county_cases",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("programme", sa.String(30), comment="null until case.opened or a decision names it"),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("received_on", sa.Date(), comment="受理: the day case.opened was emitted (China time)"),
        sa.Column("due_date", sa.Date(), comment="办结时限, as the last deadline event set it"),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("decision", sa.String(12), comment="approved, rejected or withdrawn: how it left the queue"),
        sa.Column("decided_on", sa.Date(), comment="the day it left the queue"),
        schema=S,
    )
    op.create_index("ix_county_cases_region", "county_cases", ["region_code"], schema=S)
    op.create_table(
        "county_alerts",
        sa.Column("alert_id", sa.Uuid(), primary_key=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("alert_type", sa.String(30), nullable=False),
        sa.Column("raised_on", sa.Date()),
        sa.Column("due_date", sa.Date()),
        sa.Column("verified_on", sa.Date()),
        sa.Column("outcome", sa.String(30)),
        sa.Column("programme", sa.String(30), comment="the programme a household was brought into"),
        sa.Column("closed_on", sa.Date()),
        schema=S,
    )
    op.create_index("ix_county_alerts_region", "county_alerts", ["region_code"], schema=S)


def downgrade() -> None:
    op.drop_table("county_alerts", schema=S)
    op.drop_table("county_cases", schema=S)
