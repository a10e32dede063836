"""monitoring: read model, partner feeds, alerts with evidence

Revision ID: 0002_monitoring_feeds_alerts
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_monitoring_feeds_alerts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "monitoring"


def upgrade() -> None:
    op.drop_index("ix_alerts_household_id", table_name="alerts", schema=S)
    op.drop_index("ix_alerts_region_code", table_name="alerts", schema=S)
    op.drop_table("alerts", schema=S)
    op.create_table(
        "households",
        sa.Column("household_id", sa.Uuid(), primary_key=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("hukou_type", sa.String(10), nullable=False),
        sa.Column("counted_members", sa.Integer(), nullable=False),
        sa.Column("monthly_income_fen", sa.BigInteger(), nullable=False, comment="counted household income per month"),
        sa.Column("per_capita_monthly_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_households")),
        schema=S,
    )
    op.create_index("ix_households_region_code", "households", ["region_code"], schema=S)
    op.create_table(
        "persons",
        sa.Column("id_fingerprint", sa.String(64), nullable=False),
        sa.Column("member_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("id_fingerprint", name=op.f("pk_persons")),
        schema=S,
    )
    op.create_index("ix_persons_household_id", "persons", ["household_id"], schema=S)
    op.create_table(
        "coverage",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(30), nullable=False),
        sa.Column("member_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("since_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_coverage")),
        schema=S,
    )
    op.create_index("ix_coverage_household_id", "coverage", ["household_id"], schema=S)
    op.create_table(
        "feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False, comment="the scope the rows must lie in"),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("partner", "sha256", name=op.f("uq_feeds_partner_sha256")),
        schema=S,
    )
    op.create_table(
        "feed_errors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], [f"{S}.feeds.id"], name=op.f("fk_feed_errors_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_errors")),
        schema=S,
    )
    op.create_index("ix_feed_errors_feed_id", "feed_errors", ["feed_id"], schema=S)
    op.create_table(
        "feed_records",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("id_fingerprint", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_records")),
        schema=S,
    )
    op.create_index(
        "ix_feed_records_id_fingerprint", "feed_records", ["id_fingerprint"], schema=S, postgresql_using="hash"
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("alert_type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("trace", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("programme", sa.String(30), nullable=True),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("verified_by", sa.String(200), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        schema=S,
    )
    op.create_index("ix_alerts_region_code", "alerts", ["region_code"], schema=S)
    op.create_index("ix_alerts_status", "alerts", ["status"], schema=S)
    op.create_index(
        "uq_alerts_open",
        "alerts",
        ["household_id", "alert_type"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "alert_evidence",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], [f"{S}.alerts.id"], name=op.f("fk_alert_evidence_alert_id_alerts")),
        sa.PrimaryKeyConstraint("alert_id", "record_id", name=op.f("pk_alert_evidence")),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "alert_evidence",
        "alerts",
        "feed_records",
        "feed_errors",
        "feeds",
        "coverage",
        "persons",
        "households",
    ):
        op.drop_table(table, schema=S)
