"""one live application per household and programme: an open one, or an approved one of a programme paid month by
month whose case is not stopped (a second 低保 for a household already receiving it was accepted and paid twice)

Revision ID: intake_live_entitlement
Revises: 0005_intake_payee_backfill
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_live_entitlement"
down_revision: str | None = "0005_intake_payee_backfill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('submitted', 'in_review', 'withdrawal_requested')"
# As services/intake/models.py's LIVE, frozen here as this revision wrote it.
LIVE = (
    "status IN ('submitted', 'in_review', 'withdrawal_requested') OR (status = 'approved' AND programme IN "
    "('dibao', 'marginal', 'tekun', 'orphan', 'de_facto_orphan', 'disability_living', 'disability_care') "
    "AND case_status IS DISTINCT FROM 'terminated')"
)


def upgrade() -> None:
    # A household already approved twice for one programme (the bug this closes) cannot be indexed: say so, and which,
    # rather than fail on the index with no names. An official stops one of the two cases, then the upgrade runs.
    op.execute(f"""
        DO $$ DECLARE twice text; BEGIN
            SELECT string_agg(household_id::text || ' ' || programme, ', ') INTO twice FROM (
                SELECT household_id, programme FROM intake.applications WHERE {LIVE}
                GROUP BY household_id, programme HAVING count(*) > 1) AS d;
            IF twice IS NOT NULL THEN
                RAISE EXCEPTION 'households with two live applications of one programme (stop one case first): %', twice;
            END IF;
        END $$""")
    op.drop_index("uq_applications_open", table_name="applications", schema="intake", postgresql_where=sa.text(OPEN))
    op.create_index(
        "uq_applications_live",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_applications_live", table_name="applications", schema="intake", postgresql_where=sa.text(LIVE))
    op.create_index(
        "uq_applications_open",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema="intake",
        postgresql_where=sa.text(OPEN),
    )
