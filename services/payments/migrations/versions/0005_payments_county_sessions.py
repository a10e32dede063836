"""county console sessions: the dashboard's browser login as a server-side session, so logging out revokes it

Revision ID: payments_county_sessions
Revises: 0003_payments_county
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_county_sessions"
down_revision: str | None = "0003_payments_county"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "payments"


def upgrade() -> None:
    op.create_table(
        "county_sessions",
        sa.Column(
            "session_hash",
            sa.LargeBinary(32),
            primary_key=True,
            comment="SHA-256 of the cookie's random session id: a reader of this table cannot use a session",
        ),
        sa.Column("sub", sa.Text(), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, comment="when the login token expires"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), comment="logout: the cookie no longer opens the page"),
        schema=S,
    )
    op.create_index("ix_county_sessions_expires", "county_sessions", ["expires_at"], schema=S)


def downgrade() -> None:
    op.drop_table("county_sessions", schema=S)
