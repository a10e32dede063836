"""case steps already recorded take the names the API uses: each step is named by its path (`decision`, not `decide`)

Revision ID: 0002_step_names_are_paths
Revises: 0001
Create Date: 2026-12-01 00:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_step_names_are_paths"
down_revision: str | None = "0002_case_due_date_provisional"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {
    "start_investigation": "investigation",
    "record_home_visit": "home-visits",
    "record_economic_check": "economic-check",
    "township_opinion": "township-opinion",
    "record_appraisal": "appraisal",
    "record_objection": "notice/objections",
    "close_notice": "notice/close",
    "decide": "decision",
    "extend": "extension",
    "emergency_approve": "emergency-approval",
    "complete_documents": "documents-complete",
    "terminate": "termination",
}


def _rename(mapping: dict[str, str]) -> None:
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in mapping.items())
    olds = ", ".join(f"'{old}'" for old in mapping)
    op.execute(f"UPDATE eligibility.case_steps SET step = CASE step {cases} END WHERE step IN ({olds})")


def upgrade() -> None:
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
