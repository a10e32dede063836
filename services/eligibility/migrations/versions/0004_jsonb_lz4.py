"""the large JSONB columns (snapshots, assessments, details) compressed with lz4 where the server has it

Revision ID: 0003_jsonb_lz4
Revises: 0002_step_names_are_paths
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_jsonb_lz4"
down_revision: str | None = "0002_step_names_are_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A household snapshot and an assessment are ~2 kB each, just over the TOAST threshold, so every case and every
# household's latest facts were compressed with pglz; lz4 costs a fraction of its CPU (bench/README.md has the
# figures). Catalogue only: values already stored stay as they are, and are
# read either way. Only where the server was built with lz4 (PostgreSQL ≥ 14, as the official images are).
_COLUMNS = {"cases": ("snapshot", "assessment", "details"), "household_facts": ("snapshot",)}


def _set(method: str) -> None:
    statements = " ".join(
        f"ALTER TABLE eligibility.{table} "
        + ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
        + ";"
        for table, columns in _COLUMNS.items()
    )
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_settings
                       WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                {statements}
            END IF;
        END $$""")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("default")
