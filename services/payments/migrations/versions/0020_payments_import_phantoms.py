"""delete the overpayments an imported person-level case left for the months the old system paid (存量对象导入)

Before the fix of the same commit, an imported 特困 or disability-subsidy case owed, until its schedule came, by its
case id while the months the old system paid were kept by its member: each such month looked paid and owed nothing,
and was recorded overpaid whole (`after_end`), then closed `restored` by the case's first schedule. Nothing was ever
overpaid: these rows are deleted, one audit record per household saying how many. A row is one of them only if all
of this holds — a month the old system paid for the same case and person, at its amount, owed nothing, `after_end`,
recorded no later than the case's first schedule was received and closed `restored` by it (the same transaction:
`closed_at` is that schedule's `received_at`), never deducted from. An overpayment recorded by a later decision (a
death reported afterwards) is none of them.

The rows cannot be put back: the downgrade changes nothing.

Revision ID: payments_import_phantoms
Revises: payments_drop_change_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_import_phantoms"
down_revision: str | None = "payments_drop_change_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The person-level programmes as they are today (shared.events.catalogue.PERSON_LEVEL), written out: a migration
# means what it meant when it was written.
_PERSON_LEVEL = "'tekun', 'orphan', 'de_facto_orphan', 'disability_living', 'disability_care'"
PURGE = f"""
WITH gone AS (
    DELETE FROM payments.overpayments o
    USING payments.scheduled_cases s, payments.paid_elsewhere e
    WHERE s.case_id = o.case_id AND e.case_id = o.case_id AND e.household_id = o.household_id
      AND e.programme = o.programme AND e.member_id = o.member_id
      AND o.period BETWEEN e.from_month AND e.through_month AND o.paid_fen = e.amount_fen
      AND o.programme IN ({_PERSON_LEVEL})
      AND o.reason = 'after_end' AND o.owed_fen = 0 AND o.status = 'closed' AND o.closed_reason = 'restored'
      AND o.recorded_at <= s.received_at AND o.closed_at = s.received_at
      AND NOT EXISTS (SELECT 1 FROM payments.deductions d WHERE d.overpayment_id = o.id)
    RETURNING o.household_id, o.region_code, o.case_id
)
INSERT INTO payments.audit_log (actor, roles, action, resource_type, resource_id, household_id, region_code, reason,
                                details)
SELECT 'payments', '{{system}}', 'overpayment.purge', 'household', household_id::text, household_id, min(region_code),
       'migration payments_import_phantoms: months the old system paid, never overpaid',
       jsonb_build_object('count', count(*), 'case_ids', jsonb_agg(DISTINCT case_id))
FROM gone GROUP BY household_id
"""


def upgrade() -> None:
    op.execute(sa.text(PURGE))


def downgrade() -> None:
    pass  # the deleted rows recorded nothing that happened
