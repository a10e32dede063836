"""存量对象导入: the roll imports, their staged rows, households and report; an imported application holds its
household's slot for its programme like an approved one

Revision ID: intake_roll_imports
Revises: intake_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "intake_roll_imports"
down_revision: str | None = "intake_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "intake"
RECURRING = "('dibao', 'marginal', 'tekun', 'orphan', 'de_facto_orphan', 'disability_living', 'disability_care')"
OPEN = "status IN ('submitted', 'in_review', 'withdrawal_requested')"
# As services/intake/models.py's LIVE, frozen here as these revisions wrote it.
LIVE_BEFORE = (
    f"{OPEN} OR (status = 'approved' AND programme IN {RECURRING} AND case_status IS DISTINCT FROM 'terminated')"
)
LIVE = (
    f"{OPEN} OR (status IN ('approved', 'imported') AND programme IN {RECURRING} "
    "AND case_status IS DISTINCT FROM 'terminated')"
)


def _live(where: str) -> None:
    op.drop_index("uq_applications_live", table_name="applications", schema=S)
    op.create_index(
        "uq_applications_live",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    uuid, text, jsonb = postgresql.UUID(as_uuid=True), sa.Text(), postgresql.JSONB()
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "roll_imports",
        sa.Column("id", uuid, primary_key=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("all_or_nothing", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("rows_total", sa.BigInteger(), nullable=False),
        sa.Column("validate_cursor", sa.BigInteger(), nullable=False),
        sa.Column("commit_cursor", sa.BigInteger(), nullable=False),
        sa.Column("report", jsonb),
        sa.Column("error", text),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.Column("committed_by", sa.String(200)),
        sa.Column("committed_at", tz),
        schema=S,
    )
    op.create_index("uq_roll_imports_region_sha256", "roll_imports", ["region_code", "sha256"], unique=True, schema=S)
    op.create_index(
        "ix_roll_imports_pending",
        "roll_imports",
        ["status"],
        schema=S,
        postgresql_where=sa.text("status IN ('validating', 'importing')"),
    )

    def parent() -> sa.ForeignKey:
        return sa.ForeignKey(f"{S}.roll_imports.id", ondelete="CASCADE")

    op.create_table(
        "roll_import_rows",
        sa.Column("import_id", uuid, parent(), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("household_ref", sa.String(64), nullable=False),
        sa.Column("household_id", uuid),
        sa.Column("member_id", uuid),
        sa.Column("name", sa.String(100)),
        sa.Column("relation", sa.String(20)),
        sa.Column("sex", sa.String(6)),
        sa.Column("birth_date", sa.Date()),
        sa.Column("id_number_sealed", text),
        sa.Column("id_number_key_id", sa.String(50)),
        sa.Column("id_number_masked", sa.String(18)),
        sa.Column("id_fingerprint", sa.String(64)),
        sa.Column("covered", sa.Boolean()),
        sa.Column("income_fen", sa.BigInteger()),
        sa.Column("facts", jsonb),
        sa.Column("household", jsonb),
        sa.Column("account_sealed", text),
        sa.Column("account_key_id", sa.String(50)),
        sa.Column("account_last4", sa.String(4)),
        sa.Column("payee_sealed", text),
        sa.Column("payee_key_id", sa.String(50)),
        sa.Column("error_field", sa.String(40)),
        sa.Column("error_message", text),
        schema=S,
    )
    op.create_index(
        "ix_roll_import_rows_household", "roll_import_rows", ["import_id", "household_ref", "line"], schema=S
    )
    op.create_table(
        "roll_import_households",
        sa.Column("import_id", uuid, parent(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("household_ref", sa.String(64), nullable=False),
        sa.Column("household_id", uuid, nullable=False),
        sa.Column("application_id", uuid, nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("values", jsonb),
        sa.Column("covered_member_ids", jsonb),
        sa.Column("computed_amount_fen", sa.BigInteger()),
        sa.Column("amount_differs", sa.Boolean(), nullable=False),
        schema=S,
    )
    op.create_index(
        "ix_roll_import_households_ref", "roll_import_households", ["import_id", "household_ref"], unique=True, schema=S
    )
    op.create_table(
        "roll_import_issues",
        sa.Column("import_id", uuid, parent(), primary_key=True),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("household_ref", sa.String(64), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("message", text, nullable=False),
        schema=S,
    )
    op.create_index("ix_roll_import_issues_household", "roll_import_issues", ["import_id", "household_ref"], schema=S)
    _live(LIVE)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.applications SET status = 'approved' WHERE status = 'imported'")
    _live(LIVE_BEFORE)
    for table in ("roll_import_issues", "roll_import_households", "roll_import_rows", "roll_imports"):
        op.drop_table(table, schema=S)
