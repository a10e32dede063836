"""indexes the case lists page on (shared/pagination.py): each list's sort key ending in the id

Revision ID: eligibility_list_indexes
Revises: eligibility_case_schedule
"""

from collections.abc import Sequence

from alembic import op

revision: str = "eligibility_list_indexes"
down_revision: str | None = "eligibility_case_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A page is `WHERE (key, id) > (:key, :id) ORDER BY key, id LIMIT n`: a range of a b-tree on (key, id). A case
# not open has no due date and one off the roll no review date, so the due lists' indexes hold them last, out of
# every range the lists read.
INDEXES = {
    "ix_cases_opened_on_id": ("opened_on", "id"),  # GET /cases
    "ix_cases_status_opened_on_id": ("status", "opened_on", "id"),  # GET /cases?status=
    "ix_cases_due_date_id": ("due_date", "id"),  # /cases/deadlines, /tasks, ?due_before=
    "ix_cases_next_review_on_id": ("next_review_on", "id"),  # /cases/reviews-due, ?review_due_before=
}
# Replaced by the two above, which hold them as their first column: with both, the planner read the one-column
# index and sorted each day's rows by id.
REPLACED = {"ix_cases_due_date": "due_date", "ix_cases_next_review_on": "next_review_on"}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "cases", list(columns), schema="eligibility")
    for name in REPLACED:
        op.drop_index(name, "cases", schema="eligibility")


def downgrade() -> None:
    for name, column in REPLACED.items():
        op.create_index(name, "cases", [column], schema="eligibility")
    for name in INDEXES:
        op.drop_index(name, "cases", schema="eligibility")
