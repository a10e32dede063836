"""what is owed per person (应发, from case schedules), lines keyed by person, 退汇, overpayment lifecycle

Revision ID: payments_balance
Revises: payments_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_balance"
down_revision: str | None = "payments_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"
LIVE = "status NOT IN ('failed', 'cancelled', 'reversed')"
NIL = "00000000-0000-0000-0000-000000000000"
# Programmes paid per person (a member of the household), not per household.
PERSON_LEVEL = "('tekun', 'orphan', 'de_facto_orphan', 'disability_living', 'disability_care')"


def upgrade() -> None:
    op.create_index(
        "ix_payment_lines_household_paid",
        "payment_lines",
        ["household_id", "id"],
        schema="payments",
        postgresql_where=sa.text("status = 'paid' AND payee_id IS NOT NULL"),
    )
    op.create_table(
        "owed",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False, comment="the person of a person-level programme; nil uuid"),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False, comment="the case whose decision set this row"),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("to_month", sa.Date(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("superseded_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owed")),
        schema=S,
    )
    op.create_index(
        "ix_owed_in_force",
        "owed",
        ["household_id", "programme", "member_id", "from_month"],
        schema=S,
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.create_index(
        "ix_owed_region",
        "owed",
        ["region_code", "household_id"],
        schema=S,
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.create_index("ix_owed_event_id", "owed", ["event_id"], schema=S)
    op.create_table(
        "scheduled_cases",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False, comment="the first schedule event of the case"),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_scheduled_cases")),
        schema=S,
    )
    # Until now what was owed lived per case (beneficiary) as entitlement rows: they become the first owed rows.
    op.execute(f"""
        INSERT INTO {S}.owed (household_id, programme, member_id, region_code, case_id, persons, from_month, to_month,
                              amount_fen, event_id, reason)
        SELECT b.household_id, b.programme,
               CASE WHEN b.programme IN {PERSON_LEVEL} THEN b.case_id ELSE '{NIL}'::uuid END,
               b.region_code, b.case_id, b.persons, e.from_month, e.to_month, e.monthly_amount_fen, e.event_id,
               e.event_type
        FROM {S}.entitlements e JOIN {S}.beneficiaries b ON b.id = e.beneficiary_id
        WHERE e.superseded_by IS NULL
    """)

    op.add_column("payment_lines", sa.Column("member_id", sa.Uuid(), nullable=True), schema=S)
    op.execute(f"""
        UPDATE {S}.payment_lines SET member_id = CASE WHEN programme IN {PERSON_LEVEL} THEN case_id
                                                      ELSE '{NIL}'::uuid END
        WHERE kind <> 'one_off'
    """)
    op.drop_index("uq_payment_lines_live", table_name="payment_lines", schema=S)
    op.create_index(
        "uq_payment_lines_live", "payment_lines", ["payment_id"], unique=True, schema=S, postgresql_where=sa.text(LIVE)
    )
    op.drop_index("uq_payment_lines_month", table_name="payment_lines", schema=S)
    # A month is paid as `regular` once per person; what follows for it (a rise, a failed line) is 补发.
    op.create_index(
        "uq_payment_lines_regular",
        "payment_lines",
        ["household_id", "programme", "member_id", "period"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(f"kind = 'regular' AND {LIVE}"),
    )

    op.alter_column("overpayments", "beneficiary_id", nullable=True, schema=S)
    op.add_column("overpayments", sa.Column("member_id", sa.Uuid(), nullable=True), schema=S)
    op.execute(f"""
        UPDATE {S}.overpayments SET member_id = CASE WHEN programme IN {PERSON_LEVEL} THEN case_id
                                                     ELSE '{NIL}'::uuid END
    """)
    op.alter_column("overpayments", "member_id", nullable=False, schema=S)
    for name, column in (
        ("closed_reason", sa.String(20)),
        ("closed_by", sa.String(200)),
        ("requested_by", sa.String(200)),
    ):
        op.add_column("overpayments", sa.Column(name, column, nullable=True), schema=S)
    op.add_column("overpayments", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.create_index(
        "ix_overpayments_person",
        "overpayments",
        ["household_id", "programme", "member_id", "period"],
        schema=S,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payment_lines_household_paid", table_name="payment_lines", schema="payments")
    op.drop_index("ix_overpayments_person", table_name="overpayments", schema=S)
    for name in ("closed_at", "requested_by", "closed_by", "closed_reason", "member_id"):
        op.drop_column("overpayments", name, schema=S)
    op.drop_index("uq_payment_lines_regular", table_name="payment_lines", schema=S)
    op.drop_index("uq_payment_lines_live", table_name="payment_lines", schema=S)
    op.create_index(
        "uq_payment_lines_live",
        "payment_lines",
        ["payment_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status NOT IN ('failed', 'cancelled')"),
    )
    op.create_index(
        "uq_payment_lines_month",
        "payment_lines",
        ["beneficiary_id", "programme", "period"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("kind IN ('regular', 'reissue') AND status NOT IN ('failed', 'cancelled')"),
    )
    op.drop_column("payment_lines", "member_id", schema=S)
    op.drop_table("scheduled_cases", schema=S)
    op.drop_table("owed", schema=S)
