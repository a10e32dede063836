"""villages a county loads from the statistics bureau's 统计用区划代码 table

Revision ID: 0003_intake_villages
Revises: 0002
Create Date: 2026-12-01 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_intake_villages"
down_revision: str | None = "0003_intake_withdrawal_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "villages",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("urban_rural_class", sa.String(length=3), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_villages")),
        schema="intake",
    )
    op.create_index(op.f("ix_villages_township_code"), "villages", ["township_code"], unique=False, schema="intake")


def downgrade() -> None:
    op.drop_index(op.f("ix_villages_township_code"), table_name="villages", schema="intake")
    op.drop_table("villages", schema="intake")
