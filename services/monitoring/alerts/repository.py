"""Every alert query of monitoring: the set-based risk matching, and loading and saving alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts.domain import Alert, AlertStatus, Outcome
from services.monitoring.models import AlertEvidence, AlertRow, FeedRecord

# The records in scope joined to the households they belong to (through their members' fingerprints), with
# the county's parameter values. {scope} is a fixed condition chosen in code, never user input.
# The parameter values in force per county, parsed once (not per row).
_PARAMS = """
CREATE TEMP TABLE _params ON COMMIT DROP AS
SELECT key AS county, value -> 'v' AS v, value -> 'trace' AS trace, (value ->> 'due_date')::date AS due_date
FROM jsonb_each(CAST(:params AS jsonb))
"""

_MATCHED = """
CREATE TEMP TABLE _matched ON COMMIT DROP AS
SELECT r.id, r.kind, r.event_date, r.amount_fen, r.category, p.household_id, p.member_id,
       h.region_code, h.hukou_type, h.per_capita_monthly_fen, h.monthly_income_fen, k.v
FROM monitoring.feed_records r
JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint
JOIN monitoring.households h ON h.household_id = p.household_id
JOIN _params k ON k.county = left(h.region_code, 6)
WHERE {scope}
"""

_COVERED = """
CREATE TEMP TABLE _covered ON COMMIT DROP AS
SELECT c.household_id, array_agg(DISTINCT c.programme) AS programmes, array_agg(m) AS members
FROM monitoring.coverage c LEFT JOIN LATERAL unnest(c.member_ids) m ON true
WHERE c.active AND c.household_id IN (SELECT DISTINCT household_id FROM _matched)
GROUP BY c.household_id
"""

# One row per (household, alert type) that a rule finds, with the evidence rows and what was observed.
_CANDIDATES = """
CREATE TEMP TABLE _candidates ON COMMIT DROP AS
SELECT household_id, 'below_monitoring_line' AS alert_type, min(region_code) AS region_code,
       array_agg(id) AS record_ids,
       jsonb_build_object('per_capita_annual_income_fen', min(amount_fen)) AS observed
FROM _matched
WHERE kind = 'monitoring_list' AND amount_fen < (v ->> 'monitoring.line')::bigint
GROUP BY household_id
UNION ALL
SELECT m.household_id, 'low_income_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.per_capita_monthly_fen) * 12,
                          'dibao_standard_annual_fen', min((m.v ->> ('dibao.standard.' || m.hukou_type))::bigint))
FROM _matched m LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE NOT coalesce(c.programmes && ARRAY['dibao', 'tekun', 'marginal']::varchar[], false)
  AND m.per_capita_monthly_fen * 12 < (m.v ->> 'risk.uncovered.income_multiple')::numeric
                                      * (m.v ->> ('dibao.standard.' || m.hukou_type))::bigint
GROUP BY m.household_id
UNION ALL
SELECT s.household_id, 'high_medical_cost', s.region_code, s.record_ids,
       jsonb_build_object('out_of_pocket_12m_fen', t.total, 'annual_income_fen', s.monthly_income_fen * 12)
FROM (
    SELECT household_id, min(region_code) AS region_code, array_agg(id) AS record_ids,
           min(monthly_income_fen) AS monthly_income_fen,
           min((v ->> 'risk.medical.share_of_income')::numeric) AS share,
           min((v ->> 'risk.medical.min_out_of_pocket_fen')::bigint) AS floor_fen
    FROM _matched WHERE kind = 'medical' GROUP BY household_id
) s
JOIN (
    -- every medical bill of the household's members in the last 12 months, from any feed
    SELECT p.household_id, sum(r.amount_fen) AS total
    FROM monitoring.persons p
    JOIN monitoring.feed_records r ON r.id_fingerprint = p.id_fingerprint
    WHERE p.household_id IN (SELECT household_id FROM _matched WHERE kind = 'medical')
      AND r.kind = 'medical' AND r.event_date > CAST(:today AS date) - 365
    GROUP BY p.household_id
) t ON t.household_id = s.household_id
WHERE t.total > greatest(s.share * s.monthly_income_fen * 12, s.floor_fen)
UNION ALL
SELECT m.household_id, 'disability_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('certified_on', min(m.event_date))
FROM _matched m LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'disability'
  AND m.event_date > CAST(:today AS date) - (m.v ->> 'risk.disability.new_within_days')::int
  AND NOT coalesce(c.programmes && ARRAY['disability_living', 'disability_care']::varchar[], false)
GROUP BY m.household_id
UNION ALL
SELECT m.household_id, 'recipient_death', min(m.region_code), array_agg(m.id),
       jsonb_build_object('member_id', min(m.member_id::text), 'death_date', min(m.event_date))
FROM _matched m JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'death' AND m.member_id = ANY(c.members)
GROUP BY m.household_id
UNION ALL
SELECT m.household_id, 'possible_overpayment', min(m.region_code), array_agg(m.id),
       jsonb_build_object('registrations', jsonb_agg(jsonb_build_object('kind', m.kind, 'category', m.category,
                                                                        'amount_fen', m.amount_fen)))
FROM _matched m JOIN _covered c ON c.household_id = m.household_id
WHERE c.programmes && ARRAY['dibao', 'tekun']::varchar[]
  AND ((m.kind = 'business' AND m.amount_fen >= (m.v ->> 'risk.overpayment.business_min_fen')::bigint)
    OR (m.kind = 'property' AND m.amount_fen >= (m.v ->> 'risk.overpayment.property_min_fen')::bigint)
    OR (m.kind = 'bank' AND m.amount_fen >= (m.v ->> 'risk.overpayment.bank_balance_min_fen')::bigint))
GROUP BY m.household_id
UNION ALL
SELECT household_id, 'sudden_hardship', min(region_code), array_agg(id),
       jsonb_build_object('largest_bill_fen', max(amount_fen) FILTER (WHERE kind = 'medical'),
                          'listed_as_sudden', bool_or(kind = 'monitoring_list'))
FROM _matched
WHERE (kind = 'monitoring_list' AND category = 'sudden')
   OR (kind = 'medical' AND amount_fen >= (v ->> 'risk.sudden.single_cost_fen')::bigint)
GROUP BY household_id
"""

_RAISE = """
INSERT INTO monitoring.alerts (id, household_id, region_code, alert_type, status, due_date, trace, raised_on)
SELECT gen_random_uuid(), c.household_id, c.region_code, c.alert_type, 'dispatched',
       CASE WHEN c.alert_type = 'recipient_death' THEN NULL ELSE k.due_date END,
       (k.trace -> c.alert_type) || jsonb_build_object('observed', c.observed),
       CAST(:today AS date)
FROM _candidates c JOIN _params k ON k.county = left(c.region_code, 6)
ON CONFLICT (household_id, alert_type) WHERE status <> 'closed' DO NOTHING
RETURNING id, household_id, region_code, alert_type, due_date, trace
"""

_EVIDENCE = """
INSERT INTO monitoring.alert_evidence (alert_id, record_id)
SELECT a.id, unnest(c.record_ids)
FROM _candidates c
JOIN monitoring.alerts a ON a.household_id = c.household_id AND a.alert_type = c.alert_type
WHERE a.status <> 'closed'
ON CONFLICT DO NOTHING
"""


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- matching (set-based) --------------------------------------------------------------------------------

    async def lock_matching(self) -> None:
        """Matching runs one transaction at a time (until commit): a feed and a household event that arrive
        together would otherwise each miss the other's uncommitted rows, and two feeds could race for the same
        open alert."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitoring.matching'))"))

    async def counties_in_scope(self, *, feed_id: uuid.UUID | None = None,
                                record_ids: Sequence[int] | None = None) -> list[str]:
        scope, binds = self._scope(feed_id, record_ids)
        rows = await self.session.execute(text(
            "SELECT DISTINCT left(h.region_code, 6) FROM monitoring.feed_records r "
            "JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint "
            f"JOIN monitoring.households h ON h.household_id = p.household_id WHERE {scope}"), binds)
        return [r[0] for r in rows]

    async def raise_from(self, params: dict[str, Any], today: date, *, feed_id: uuid.UUID | None = None,
                         record_ids: Sequence[int] | None = None) -> list[Alert]:
        """Run every rule over the records in scope; create the alerts not yet open (one open alert per household
        and type) and attach the evidence to new and already open ones. Returns the new alerts."""
        scope, binds = self._scope(feed_id, record_ids)
        await self.session.execute(text(_PARAMS), {"params": orjson.dumps(params).decode()})
        await self.session.execute(text(_MATCHED.format(scope=scope)), binds)
        await self.session.execute(text("ANALYZE _matched"))
        await self.session.execute(text(_COVERED))
        await self.session.execute(text(_CANDIDATES), {"today": today})
        rows = (await self.session.execute(text(_RAISE), {"today": today})).all()
        await self.session.execute(text(_EVIDENCE))
        for temp in ("_candidates", "_covered", "_matched", "_params"):
            await self.session.execute(text(f"DROP TABLE {temp}"))
        return [Alert(id=r.id, household_id=r.household_id, region_code=r.region_code, alert_type=r.alert_type,
                      status=AlertStatus.DISPATCHED, due_date=r.due_date, trace=r.trace, raised_on=today)
                for r in rows]

    @staticmethod
    def _scope(feed_id: uuid.UUID | None, record_ids: Sequence[int] | None) -> tuple[str, dict[str, Any]]:
        if feed_id is not None:
            return "r.feed_id = :feed_id", {"feed_id": feed_id}
        return "r.id = ANY(:record_ids)", {"record_ids": list(record_ids or [])}

    # --- one alert ---------------------------------------------------------------------------------------------

    async def get(self, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
        row = await self.session.get(AlertRow, alert_id, with_for_update=for_update)
        return None if row is None else _to_domain(row)

    async def save(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            await self.session.execute(
                update(AlertRow).where(AlertRow.id == a.id).values(
                    status=a.status.value, outcome=a.outcome.value if a.outcome else None, programme=a.programme,
                    reasons=a.reasons or None, note=a.note, verified_on=a.verified_on, verified_by=a.verified_by,
                    closed_on=a.closed_on, closed_by=a.closed_by))

    async def evidence(self, alert_id: uuid.UUID) -> list[Any]:
        return list((await self.session.execute(
            select(FeedRecord.id, FeedRecord.feed_id, FeedRecord.kind, FeedRecord.line, FeedRecord.event_date,
                   FeedRecord.amount_fen, FeedRecord.category, FeedRecord.grade, FeedRecord.details)
            .join(AlertEvidence, AlertEvidence.record_id == FeedRecord.id)
            .where(AlertEvidence.alert_id == alert_id).order_by(FeedRecord.id).limit(1000)
        )).all())

    # --- lists ---------------------------------------------------------------------------------------------------

    async def search(self, region_prefix: str, *, status: str | None, alert_type: str | None,
                     household_id: uuid.UUID | None, due_from: date | None, due_by: date | None,
                     open_only: bool,
                     limit: int, offset: int) -> tuple[list[Alert], int]:
        conditions = [AlertRow.region_code.startswith(region_prefix, autoescape=True)]
        if status:
            conditions.append(AlertRow.status == status)
        if alert_type:
            conditions.append(AlertRow.alert_type == alert_type)
        if household_id:
            conditions.append(AlertRow.household_id == household_id)
        if open_only:
            conditions.append(AlertRow.status != AlertStatus.CLOSED.value)
        if due_by is not None:
            conditions.append(AlertRow.due_date <= due_by)
        if due_from is not None:
            conditions.append(AlertRow.due_date >= due_from)
        total = await self.session.scalar(select(func.count()).select_from(AlertRow).where(*conditions))
        rows = await self.session.scalars(
            select(AlertRow).where(*conditions)
            .order_by(AlertRow.due_date.asc().nulls_last(), AlertRow.created_at, AlertRow.id)
            .limit(limit).offset(offset))
        return [_to_domain(r) for r in rows], int(total or 0)


def _to_domain(row: AlertRow) -> Alert:
    return Alert(id=row.id, household_id=row.household_id, region_code=row.region_code, alert_type=row.alert_type,
                 status=AlertStatus(row.status), due_date=row.due_date, trace=row.trace, raised_on=row.raised_on,
                 outcome=Outcome(row.outcome) if row.outcome else None, programme=row.programme,
                 reasons=list(row.reasons or []), note=row.note, verified_on=row.verified_on,
                 verified_by=row.verified_by, closed_on=row.closed_on, closed_by=row.closed_by)
