"""Every alert query of monitoring: the set-based risk matching, and loading and saving alerts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.alerts.domain import Alert, AlertStatus, Outcome
from services.monitoring.alerts.schemas import AlertQuery
from services.monitoring.feeds.kinds import FEED_KINDS
from services.monitoring.models import AlertEvidence, AlertRow, FeedRecord, KnownPerson
from shared.pagination import Keyset, Rows, keyset_page

# The records in scope joined to the households they belong to (through their members' fingerprints), with
# the county's parameter values. {scope} is a fixed condition chosen in code, never user input.
# The parameter values in force per county, parsed once into typed columns (not per row).
# The alert's columns that map one to one onto the domain model's fields (status, outcome and reasons are converted),
# and those of them a township step changes.
_ALERT_COLUMNS = (
    "id",
    "household_id",
    "region_code",
    "alert_type",
    "due_date",
    "trace",
    "raised_on",
    "programme",
    "note",
    "verified_on",
    "verified_by",
    "closed_on",
    "closed_by",
)
_STEP_COLUMNS = ("programme", "note", "verified_on", "verified_by", "closed_on", "closed_by")

_PARAMS = """
CREATE TEMP TABLE _params ON COMMIT DROP AS
SELECT key AS county, value -> 'trace' AS trace, (value ->> 'due_date')::date AS due_date,
       (value -> 'v' ->> 'monitoring.line')::bigint AS monitoring_line,
       (value -> 'v' ->> 'dibao.standard.rural')::bigint AS dibao_rural,
       (value -> 'v' ->> 'dibao.standard.urban')::bigint AS dibao_urban,
       (value -> 'v' ->> 'risk.uncovered.income_multiple')::numeric AS uncovered_multiple,
       (value -> 'v' ->> 'risk.medical.share_of_income')::numeric AS medical_share,
       (value -> 'v' ->> 'risk.medical.min_out_of_pocket_fen')::bigint AS medical_floor,
       (value -> 'v' ->> 'risk.sudden.single_cost_fen')::bigint AS sudden_single,
       (value -> 'v' ->> 'risk.disability.new_within_days')::int AS disability_days,
       (value -> 'v' ->> 'risk.overpayment.business_min_fen')::bigint AS business_min,
       (value -> 'v' ->> 'risk.overpayment.property_min_fen')::bigint AS property_min,
       (value -> 'v' ->> 'risk.overpayment.bank_balance_min_fen')::bigint AS bank_min
FROM jsonb_each(CAST(:params AS jsonb))
"""

_MATCHED = """
CREATE TEMP TABLE _matched ON COMMIT DROP AS
SELECT r.id, r.kind, r.event_date, r.amount_fen, r.category, p.household_id, p.member_id,
       h.region_code, left(h.region_code, 6) AS county, h.hukou_type, h.per_capita_monthly_fen,
       h.monthly_income_fen
FROM monitoring.feed_records r
JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint
JOIN monitoring.households h ON h.household_id = p.household_id
WHERE {scope} AND left(h.region_code, 6) IN (SELECT county FROM _params)
"""

# Active coverage with its members (tens of thousands of rows per county: cheaper whole than filtered).
_COVERED = """
CREATE TEMP TABLE _covered ON COMMIT DROP AS
SELECT c.household_id, array_agg(DISTINCT c.programme) AS programmes, array_agg(m) AS members
FROM monitoring.coverage c LEFT JOIN LATERAL unnest(c.member_ids) m ON true
WHERE c.active
GROUP BY c.household_id
"""

_NEW_CANDIDATES = """
CREATE TEMP TABLE _candidates (household_id uuid, alert_type varchar(30), region_code varchar(12),
                               record_ids bigint[], observed jsonb) ON COMMIT DROP
"""

# Each rule adds one row per (household, alert type) it finds, with the evidence rows and what was observed; a
# rule runs only when the rows in scope include the kinds it reads.
_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"monitoring_list"}),
        """
INSERT INTO _candidates
SELECT m.household_id, 'below_monitoring_line', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.amount_fen))
FROM _matched m JOIN _params k ON k.county = m.county
WHERE m.kind = 'monitoring_list' AND m.amount_fen < k.monitoring_line
GROUP BY m.household_id
""",
    ),
    (
        frozenset(),
        """
INSERT INTO _candidates
SELECT m.household_id, 'low_income_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.per_capita_monthly_fen) * 12,
                          'dibao_standard_annual_fen',
                          min(CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END))
FROM _matched m JOIN _params k ON k.county = m.county LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE NOT coalesce(c.programmes && ARRAY['dibao', 'tekun', 'marginal']::varchar[], false)
  AND m.per_capita_monthly_fen * 12
      < k.uncovered_multiple * CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END
GROUP BY m.household_id
""",
    ),
    (
        frozenset({"medical"}),
        """
INSERT INTO _candidates
WITH bills AS (
    -- the 12-month bills of the households these rows touch: the rows in scope, already matched (the feed's
    -- million rows are not joined to the fingerprints a second time) ...
    SELECT m.household_id, m.amount_fen FROM _matched m
    WHERE m.kind = 'medical' AND m.event_date > CAST(:today AS date) - 365
    UNION ALL
    -- ... and every earlier bill of their members, from any other feed
    SELECT p.household_id, r.amount_fen
    FROM monitoring.feed_records r
    JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint
    WHERE r.kind = 'medical' AND r.event_date > CAST(:today AS date) - 365 AND NOT ({scope})
      AND p.household_id IN (SELECT household_id FROM _matched WHERE kind = 'medical')
),
totals AS (SELECT household_id, sum(amount_fen) AS total FROM bills GROUP BY household_id),
flagged AS (
    SELECT t.household_id, t.total, h.region_code, h.monthly_income_fen
    FROM totals t
    JOIN monitoring.households h ON h.household_id = t.household_id
    JOIN _params k ON k.county = left(h.region_code, 6)
    WHERE t.total > greatest(k.medical_share * h.monthly_income_fen * 12, k.medical_floor)
)
SELECT f.household_id, 'high_medical_cost', f.region_code, e.record_ids,
       jsonb_build_object('out_of_pocket_12m_fen', f.total, 'annual_income_fen', f.monthly_income_fen * 12)
FROM flagged f
JOIN (SELECT m.household_id, array_agg(m.id) AS record_ids FROM _matched m
      WHERE m.kind = 'medical' AND m.household_id IN (SELECT household_id FROM flagged)
      GROUP BY m.household_id) e ON e.household_id = f.household_id
""",
    ),
    (
        frozenset({"disability"}),
        """
INSERT INTO _candidates
SELECT m.household_id, 'disability_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('certified_on', min(m.event_date))
FROM _matched m JOIN _params k ON k.county = m.county LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'disability' AND m.event_date > CAST(:today AS date) - k.disability_days
  AND NOT coalesce(c.programmes && ARRAY['disability_living', 'disability_care']::varchar[], false)
GROUP BY m.household_id
""",
    ),
    (
        frozenset({"death"}),
        """
INSERT INTO _candidates
SELECT m.household_id, 'recipient_death', min(m.region_code), array_agg(m.id),
       jsonb_build_object('member_id', min(m.member_id::text), 'death_date', min(m.event_date))
FROM _matched m JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'death' AND m.member_id = ANY(c.members)
GROUP BY m.household_id
""",
    ),
    (
        frozenset({"business", "property", "bank"}),
        """
INSERT INTO _candidates
SELECT m.household_id, 'possible_overpayment', min(m.region_code), array_agg(m.id),
       jsonb_build_object('registrations', jsonb_agg(jsonb_build_object('kind', m.kind, 'category', m.category,
                                                                        'amount_fen', m.amount_fen)))
FROM _matched m JOIN _params k ON k.county = m.county JOIN _covered c ON c.household_id = m.household_id
WHERE c.programmes && ARRAY['dibao', 'tekun']::varchar[]
  AND ((m.kind = 'business' AND m.amount_fen >= k.business_min)
    OR (m.kind = 'property' AND m.amount_fen >= k.property_min)
    OR (m.kind = 'bank' AND m.amount_fen >= k.bank_min))
GROUP BY m.household_id
""",
    ),
    (
        frozenset({"monitoring_list", "medical"}),
        """
INSERT INTO _candidates
SELECT m.household_id, 'sudden_hardship', min(m.region_code), array_agg(m.id),
       jsonb_build_object('largest_bill_fen', max(m.amount_fen) FILTER (WHERE m.kind = 'medical'),
                          'listed_as_sudden', bool_or(m.kind = 'monitoring_list'))
FROM _matched m JOIN _params k ON k.county = m.county
WHERE (m.kind = 'monitoring_list' AND m.category = 'sudden')
   OR (m.kind = 'medical' AND m.amount_fen >= k.sudden_single)
GROUP BY m.household_id
""",
    ),
)

_RAISE = """
WITH raised AS (
INSERT INTO monitoring.alerts (id, household_id, region_code, alert_type, status, due_date, trace, raised_on)
SELECT gen_random_uuid(), c.household_id, c.region_code, c.alert_type, 'dispatched',
       CASE WHEN c.alert_type = 'recipient_death' THEN NULL ELSE k.due_date END,
       (k.trace -> c.alert_type) || jsonb_build_object('observed', c.observed),
       CAST(:today AS date)
FROM _candidates c JOIN _params k ON k.county = left(c.region_code, 6)
ON CONFLICT (household_id, alert_type) WHERE status <> 'closed' DO NOTHING
RETURNING id, household_id, region_code, alert_type, due_date, trace
)
INSERT INTO _new_alerts SELECT * FROM raised
"""

_EVIDENCE = """
INSERT INTO monitoring.alert_evidence (alert_id, record_id)
SELECT a.id, unnest(c.record_ids)
FROM _candidates c
JOIN monitoring.alerts a ON a.household_id = c.household_id AND a.alert_type = c.alert_type
WHERE a.status <> 'closed'
ON CONFLICT DO NOTHING
"""


FEED_KINDS_SET = frozenset(FEED_KINDS)


@dataclass(frozen=True)
class Scope:
    """The feed rows a matching run looks at: one feed's (its id range bounds them, see
    FeedRepository.next_record_id), or rows just matched to a household that appeared."""

    feed_id: uuid.UUID | None = None
    id_range: tuple[int, int] | None = None
    record_ids: Sequence[int] = ()
    kinds: frozenset[str] = FEED_KINDS_SET  # the kinds of row in scope: rules reading none of them are skipped

    def sql(self) -> tuple[str, dict[str, Any]]:
        if self.feed_id is not None and self.id_range is not None:
            return (
                "r.id BETWEEN :lo AND :hi AND r.feed_id = :feed_id",
                {"lo": self.id_range[0], "hi": self.id_range[1], "feed_id": self.feed_id},
            )
        return "r.id = ANY(:record_ids)", {"record_ids": list(self.record_ids)}


# The alerts' orders (shared/pagination.py), served by migration 0003_list_indexes's indexes.
ALERTS = Keyset("alerts", (AlertRow.created_at, AlertRow.id), descending=True)
DUE = Keyset("alerts/due", (AlertRow.due_date, AlertRow.id))


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- matching (set-based) --------------------------------------------------------------------------------

    async def lock_matching(self) -> None:
        """Matching runs one transaction at a time (until commit): a feed and a household event that arrive
        together would otherwise each miss the other's uncommitted rows, and two feeds could race for the same
        open alert."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('monitoring.matching'))"))

    async def counties(self) -> list[str]:
        """The counties households are known in (a few; the rules need their parameter values)."""
        return list(await self.session.scalars(text("SELECT DISTINCT left(region_code, 6) FROM monitoring.households")))

    async def raise_from(self, params: dict[str, Any], today: date, scope: Scope) -> int:
        """Run every rule over the records in scope; create the alerts not yet open (one open alert per household
        and type) and attach the evidence to new and already open ones. Returns how many are new; read them
        with :meth:`new_alerts` (in pages, so a million-row feed's alerts never sit in memory at once)."""
        condition, binds = scope.sql()
        if scope.feed_id is not None:
            # The feed's rows are not committed, so autovacuum has not seen them: without fresh statistics the
            # planner takes a million-row feed for a few rows and joins it row by row.
            await self.session.execute(text("ANALYZE monitoring.feed_records"))
        # Aggregates of a million rows fit in memory as hashes rather than spilling sorts to disk.
        await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        await self.session.execute(text(_PARAMS), {"params": orjson.dumps(params).decode()})
        await self.session.execute(text(_MATCHED.format(scope=condition)), binds)
        await self.session.execute(text("ANALYZE _matched"))
        await self.session.execute(text(_COVERED))
        await self.session.execute(text(_NEW_CANDIDATES))
        for kinds, rule in _RULES:
            if not kinds or kinds & scope.kinds:
                if "{scope}" in rule:  # a rule reading rows outside the scope as well
                    await self.session.execute(text(rule.replace("{scope}", condition)), {"today": today, **binds})
                else:
                    await self.session.execute(text(rule), {"today": today})
        await self.session.execute(
            text(
                "CREATE TEMP TABLE _new_alerts (id uuid PRIMARY KEY, household_id uuid, region_code varchar(12), "
                "alert_type varchar(30), due_date date, trace jsonb) ON COMMIT DROP"
            )
        )
        raised = (await self.session.execute(text(_RAISE), {"today": today})).rowcount
        await self.session.execute(text(_EVIDENCE))
        for temp in ("_candidates", "_covered", "_matched", "_params"):
            await self.session.execute(text(f"DROP TABLE {temp}"))
        return int(raised or 0)

    async def new_alerts(self, today: date, page: int = 2000) -> AsyncIterator[list[Alert]]:
        """The alerts :meth:`raise_from` created, a page at a time; the page table is dropped at the end."""
        after = uuid.UUID(int=0)
        while True:
            rows = (
                await self.session.execute(
                    text(
                        "SELECT id, household_id, region_code, alert_type, due_date, trace FROM _new_alerts "
                        "WHERE id > :after ORDER BY id LIMIT :page"
                    ),
                    {"after": after, "page": page},
                )
            ).all()
            if not rows:
                break
            after = rows[-1].id
            yield [Alert(**r._mapping, status=AlertStatus.DISPATCHED, raised_on=today) for r in rows]
        await self.session.execute(text("DROP TABLE _new_alerts"))

    # --- one alert ---------------------------------------------------------------------------------------------

    async def get(self, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
        row = await self.session.get(AlertRow, alert_id, with_for_update=for_update)
        return None if row is None else _to_domain(row)

    async def save(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            await self.session.execute(
                update(AlertRow)
                .where(AlertRow.id == a.id)
                .values(
                    **{name: getattr(a, name) for name in _STEP_COLUMNS},
                    status=a.status.value,
                    outcome=a.outcome.value if a.outcome else None,
                    reasons=a.reasons or None,
                )
            )

    async def evidence(self, alert_id: uuid.UUID) -> list[Any]:
        return list(
            (
                await self.session.execute(
                    select(
                        FeedRecord.id.label("record_id"),
                        FeedRecord.feed_id,
                        FeedRecord.kind,
                        FeedRecord.line,
                        FeedRecord.event_date,
                        FeedRecord.amount_fen,
                        FeedRecord.category,
                        FeedRecord.grade,
                        FeedRecord.details,
                    )
                    .join(AlertEvidence, AlertEvidence.record_id == FeedRecord.id)
                    .where(AlertEvidence.alert_id == alert_id)
                    .order_by(FeedRecord.id)
                    .limit(1000)
                )
            ).all()
        )

    # --- lists ---------------------------------------------------------------------------------------------------

    async def page(
        self, region_prefix: str, q: AlertQuery, *, fingerprint: str | None = None, due_from: date | None = None
    ) -> Rows[Alert]:
        """`q`'s alerts under `region_prefix`: newest first, or earliest due first for open alerts due before
        `q.due_before` (and from `due_from`); `fingerprint`: those of the households this person is a member of."""
        conditions = [AlertRow.region_code.startswith(region_prefix, autoescape=True)]
        keyset = ALERTS
        if q.status:
            conditions.append(AlertRow.status == q.status)
        if q.alert_type:
            conditions.append(AlertRow.alert_type == q.alert_type)
        if q.household_id:
            conditions.append(AlertRow.household_id == q.household_id)
        if fingerprint:
            of_person = select(KnownPerson.household_id).where(KnownPerson.id_fingerprint == fingerprint)
            conditions.append(AlertRow.household_id.in_(of_person))
        if q.due_before is not None:
            keyset = DUE
            conditions += [AlertRow.status != AlertStatus.CLOSED.value, AlertRow.due_date < q.due_before]
        if due_from is not None:
            conditions.append(AlertRow.due_date >= due_from)
        page = await keyset_page(self.session, select(AlertRow).where(*conditions), keyset, q)
        return Rows([_to_domain(r) for r in page.rows], page.next, page.total)


def _to_domain(row: AlertRow) -> Alert:
    return Alert(
        **{name: getattr(row, name) for name in _ALERT_COLUMNS},
        status=AlertStatus(row.status),
        outcome=Outcome(row.outcome) if row.outcome else None,
        reasons=list(row.reasons or []),
    )
