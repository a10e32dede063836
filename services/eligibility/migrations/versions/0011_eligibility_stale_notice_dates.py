"""cases: the notice dates a case kept after corrected facts sent it back to investigation are cleared

An approval needs the public notice (公示) to have run and closed. A case amended after its notice (the applicant
corrected the household's facts: back to investigation) kept the dates of that notice, posted on the old facts,
and would have counted as posted; from now on the amendment clears them. Cleared here for the open cases holding
such dates: every open case with notice dates whose last move was not the notice's close (nor a case on notice).

Revision ID: eligibility_stale_notice_dates
Revises: eligibility_case_complained
"""

from collections.abc import Sequence

from alembic import op

revision: str = "eligibility_stale_notice_dates"
down_revision: str | None = "eligibility_case_complained"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


STALE_NOTICES_CLEARED = (
    "UPDATE eligibility.cases c SET notice_posted_on = NULL, notice_ends_on = NULL "
    "WHERE c.notice_ends_on IS NOT NULL "
    "AND c.status IN ('accepted', 'investigation', 'township_review', 'appraisal', 'county_review') "
    "AND (SELECT s.step FROM eligibility.case_steps s WHERE s.case_id = c.id AND s.from_status <> s.to_status "
    "ORDER BY s.id DESC LIMIT 1) IS DISTINCT FROM 'notice/close'"
)


def upgrade() -> None:
    op.execute(STALE_NOTICES_CLEARED)


def downgrade() -> None:
    pass  # the dates of a notice that no longer stands are not put back
