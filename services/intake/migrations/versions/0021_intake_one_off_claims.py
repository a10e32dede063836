"""One-off help (临时救助, 医疗救助) holds no slot: a household with two hospital stays or two emergencies files two
claims, each paid once, so `uq_applications_live` no longer covers their open applications. It still covers the
others' — open, or (the programmes paid month by month) approved or imported and not stopped — against a second
application racing the service's own check.

Downgrading leaves the index as it is: the old one cannot be built over a household's several open claims, and
no claim is the migration's to withdraw; the older code then accepts several one-off claims, as this one does.

Revision ID: intake_one_off_claims
Revises: intake_application_origin
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_one_off_claims"
down_revision: str | None = "intake_application_origin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "intake"
RECURRING = "('dibao', 'marginal', 'tekun', 'orphan', 'de_facto_orphan', 'disability_living', 'disability_care')"
OPEN = "status IN ('submitted', 'in_review', 'withdrawal_requested')"
# As services/intake/models.py's LIVE, frozen here as this revision wrote it.
LIVE = (
    f"programme NOT IN ('temporary', 'medical') AND ({OPEN} OR (status IN ('approved', 'imported') "
    f"AND programme IN {RECURRING} AND case_status IS DISTINCT FROM 'terminated'))"
)


def upgrade() -> None:
    op.drop_index("uq_applications_live", table_name="applications", schema=S)
    op.create_index(
        "uq_applications_live",
        "applications",
        ["household_id", "programme"],
        unique=True,
        schema=S,
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    pass  # see the module's docstring
