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
from services.monitoring.risk.rules import RULES, parameters_table_sql
from services.monitoring.risk.rules.rule import FEED_REACHES
from shared.pagination import Keyset, Rows, keyset_page

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

# The records in scope joined to the households they belong to (through their members' fingerprints), with
# the county's parameter values; a person who left the household (not active) is matched by a death row only.
# A row matches only households inside its feed's region (FEED_REACHES): another county's partner must neither
# change a household's records nor learn from the answer that its ID number is known here.
# {scope} is a fixed condition chosen in code, never user input.
_MATCHED = f"""
CREATE TEMP TABLE _matched ON COMMIT DROP AS
SELECT r.id, r.kind, r.event_date, r.amount_fen, r.category, p.household_id, p.member_id,
       h.region_code, left(h.region_code, 6) AS county, h.hukou_type, h.per_capita_monthly_fen,
       h.monthly_income_fen
FROM monitoring.feed_records r
JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint AND (p.active OR r.kind = 'death')
JOIN monitoring.households h ON h.household_id = p.household_id
JOIN monitoring.feeds f ON f.id = r.feed_id AND {FEED_REACHES}
WHERE {{scope}} AND left(h.region_code, 6) IN (SELECT county FROM _params)
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

# Each member a new death alert reports, once (the alert's observation lists the household's dead members).
_REPORTED_DEATHS = """
INSERT INTO monitoring.reported_deaths (member_id, household_id, region_code, death_date, alert_id, reported_on)
SELECT (d ->> 'member_id')::uuid, a.household_id, a.region_code, (d ->> 'death_date')::date, a.id,
       CAST(:today AS date)
FROM _new_alerts a CROSS JOIN LATERAL jsonb_array_elements(a.trace -> 'observed' -> 'deaths') d
WHERE a.alert_type = 'recipient_death'
ON CONFLICT (member_id) DO NOTHING
"""

# A death row of a member already reported dead (a second source, 公安 then 殡葬) is evidence of the alert that
# reported the death, not a second death.
_DEATH_EVIDENCE = """
INSERT INTO monitoring.alert_evidence (alert_id, record_id)
SELECT d.alert_id, m.id
FROM _matched m JOIN monitoring.reported_deaths d ON d.member_id = m.member_id
WHERE m.kind = 'death'
ON CONFLICT DO NOTHING
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
        await self.session.execute(text(parameters_table_sql()), {"params": orjson.dumps(params).decode()})
        await self.session.execute(text(_MATCHED.format(scope=condition)), binds)
        await self.session.execute(text("ANALYZE _matched"))
        await self.session.execute(text(_COVERED))
        await self.session.execute(text(_NEW_CANDIDATES))
        for rule in RULES.values():
            if not rule.reads or rule.reads & scope.kinds:
                if "{scope}" in rule.sql:  # a rule reading rows outside the scope as well
                    await self.session.execute(text(rule.sql.replace("{scope}", condition)), {"today": today, **binds})
                else:
                    await self.session.execute(text(rule.sql), {"today": today})
        await self.session.execute(
            text(
                "CREATE TEMP TABLE _new_alerts (id uuid PRIMARY KEY, household_id uuid, region_code varchar(12), "
                "alert_type varchar(30), due_date date, trace jsonb) ON COMMIT DROP"
            )
        )
        raised = (await self.session.execute(text(_RAISE), {"today": today})).rowcount
        await self.session.execute(text(_REPORTED_DEATHS), {"today": today})
        await self.session.execute(text(_EVIDENCE))
        if "death" in scope.kinds:
            await self.session.execute(text(_DEATH_EVIDENCE))
        await self.session.execute(text("DROP TABLE _candidates, _covered, _matched, _params"))
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
        """The alerts' steps, one executemany round trip however many (a feed's deaths close a page at a time)."""
        if not alerts:
            return
        await self.session.execute(
            update(AlertRow),
            [
                {
                    "id": a.id,
                    **{name: getattr(a, name) for name in _STEP_COLUMNS},
                    "status": a.status.value,
                    "outcome": a.outcome.value if a.outcome else None,
                    "reasons": a.reasons or None,
                }
                for a in alerts
            ],
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
            of_person = select(KnownPerson.household_id).where(
                KnownPerson.id_fingerprint == fingerprint, KnownPerson.active
            )
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
