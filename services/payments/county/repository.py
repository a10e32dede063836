"""Every query of the county view: the read model's upserts, and the figures counted from it and from payments' own
lines and batches (set-based, one statement each)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import EventData

_UPSERT_CASE = """
INSERT INTO payments.county_cases AS c (case_id, programme, region_code, received_on, due_date, status, decision,
                                        decided_on)
VALUES (:case_id, :programme, :region_code, :received_on, :due_date, :status, :decision, :decided_on)
ON CONFLICT (case_id) DO UPDATE SET
    programme = coalesce(EXCLUDED.programme, c.programme),
    received_on = coalesce(c.received_on, EXCLUDED.received_on),
    due_date = coalesce(EXCLUDED.due_date, c.due_date),
    status = EXCLUDED.status,
    decision = coalesce(c.decision, EXCLUDED.decision),
    decided_on = coalesce(c.decided_on, EXCLUDED.decided_on)
"""

# Many cases' rows in one statement, their columns as arrays (`upsert_cases`): the same fold as _UPSERT_CASE.
_UPSERT_CASES = _UPSERT_CASE.replace(
    "VALUES (:case_id, :programme, :region_code, :received_on, :due_date, :status, :decision, :decided_on)",
    "SELECT * FROM unnest(CAST(:case_id AS uuid[]), CAST(:programme AS text[]), CAST(:region_code AS text[]), "
    "CAST(:received_on AS date[]), CAST(:due_date AS date[]), CAST(:status AS text[]), CAST(:decision AS text[]), "
    "CAST(:decided_on AS date[]))",
)

_CASE_COLUMNS = ("case_id", "programme", "region_code", "received_on", "due_date", "status", "decision", "decided_on")
_ALERT_COLUMNS = (
    "alert_id",
    "household_id",
    "region_code",
    "alert_type",
    "raised_on",
    "due_date",
    "verified_on",
    "outcome",
    "programme",
    "closed_on",
)


def _columns(names: tuple[str, ...], data: EventData, known: dict[str, Any]) -> dict[str, Any]:
    values = {**dict(data), **known}
    return {name: values.get(name) for name in names}


_CASE_DUE = """
INSERT INTO payments.county_cases AS c (case_id, region_code, due_date, status) VALUES (:case_id, :region, :due, 'open')
ON CONFLICT (case_id) DO UPDATE SET due_date = EXCLUDED.due_date
"""

_UPSERT_ALERT = """
INSERT INTO payments.county_alerts AS a (alert_id, household_id, region_code, alert_type, raised_on, due_date,
                                         verified_on, outcome, programme, closed_on)
VALUES (:alert_id, :household_id, :region_code, :alert_type, :raised_on, :due_date, :verified_on, :outcome,
        :programme, :closed_on)
ON CONFLICT (alert_id) DO UPDATE SET
    raised_on = coalesce(a.raised_on, EXCLUDED.raised_on),
    due_date = coalesce(a.due_date, EXCLUDED.due_date),
    verified_on = coalesce(a.verified_on, EXCLUDED.verified_on),
    outcome = coalesce(EXCLUDED.outcome, a.outcome),
    programme = coalesce(a.programme, EXCLUDED.programme),
    closed_on = coalesce(a.closed_on, EXCLUDED.closed_on)
"""

# A case is overdue for a period when its deadline fell in the period (and has passed) and it was not decided by
# then; it is overdue now when it is still in the queue past its deadline.
_CASES = """
SELECT coalesce(programme, 'unknown') AS programme,
       count(*) FILTER (WHERE received_on BETWEEN :start AND :end) AS received,
       count(*) FILTER (WHERE decision = 'approved' AND decided_on BETWEEN :start AND :end) AS approved,
       count(*) FILTER (WHERE decision = 'rejected' AND decided_on BETWEEN :start AND :end) AS rejected,
       count(*) FILTER (WHERE decision = 'withdrawn' AND decided_on BETWEEN :start AND :end) AS withdrawn,
       count(*) FILTER (WHERE due_date BETWEEN :start AND :end AND due_date < :today
                        AND (decided_on IS NULL OR decided_on > due_date)) AS overdue
FROM payments.county_cases WHERE region_code LIKE :prefix
GROUP BY 1 ORDER BY 1
"""

_OVERDUE_NOW = """
SELECT case_id, coalesce(programme, 'unknown') AS programme, region_code, received_on, due_date, status
FROM payments.county_cases
WHERE region_code LIKE :prefix AND decided_on IS NULL AND due_date < :today
  AND status NOT IN ('approved', 'gradual_exit', 'rejected', 'withdrawn', 'terminated')
ORDER BY due_date, case_id LIMIT :limit
"""

_ALERTS = """
SELECT count(*) FILTER (WHERE raised_on BETWEEN :start AND :end) AS raised,
       count(*) FILTER (WHERE verified_on BETWEEN :start AND :end) AS verified,
       count(*) FILTER (WHERE verified_on BETWEEN :start AND :end AND outcome = 'brought_into_assistance')
           AS brought_into_assistance,
       count(*) FILTER (WHERE verified_on IS NULL AND closed_on IS NULL) AS open_now,
       count(*) FILTER (WHERE verified_on IS NULL AND closed_on IS NULL AND due_date < :today) AS overdue_now
FROM payments.county_alerts WHERE region_code LIKE :prefix
"""

_OPEN_ALERTS_BY_TOWNSHIP = """
SELECT left(region_code, 9) AS township, count(*) AS open,
       count(*) FILTER (WHERE due_date < :today) AS overdue
FROM payments.county_alerts
WHERE region_code LIKE :prefix AND verified_on IS NULL AND closed_on IS NULL
GROUP BY 1 ORDER BY 1
"""

# 三类人群: households the monitoring list or a sudden hardship put under monitoring up to the end of the period;
# covered by a programme when payments paid them for it in the period.
_COVERAGE = """
WITH monitored AS (
    SELECT DISTINCT household_id FROM payments.county_alerts
    WHERE region_code LIKE :prefix AND alert_type IN ('below_monitoring_line', 'sudden_hardship')
      AND raised_on <= :end
), paid AS (
    SELECT DISTINCT l.programme, l.household_id FROM payments.payment_lines l JOIN monitored m USING (household_id)
    WHERE l.region_code LIKE :prefix AND l.period BETWEEN :first AND :last AND l.status IN ('pending', 'paid')
)
SELECT NULL AS programme, (SELECT count(*) FROM monitored) AS households
UNION ALL SELECT '*', count(DISTINCT household_id) FROM paid
UNION ALL (SELECT programme, count(*) FROM paid GROUP BY programme ORDER BY programme)
"""

_MONTHS = """
SELECT period, programme, count(DISTINCT household_id) AS households, sum(amount_fen) AS money_fen
FROM payments.payment_lines
WHERE region_code LIKE :prefix AND period BETWEEN :first AND :last AND status IN ('pending', 'paid')
GROUP BY period, programme ORDER BY period, programme
"""

_BATCHES = """
SELECT b.id, b.kind, b.region_code, b.period, b.status, b.reconciled_at,
       count(l.id) AS line_count, coalesce(sum(l.amount_fen), 0) AS total_fen,
       count(l.id) FILTER (WHERE l.status = 'paid') AS paid_count,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'paid'), 0) AS paid_fen,
       count(l.id) FILTER (WHERE l.status = 'failed') AS failed_count,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'failed'), 0) AS failed_fen,
       count(l.id) FILTER (WHERE l.status = 'pending') AS pending_count,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'pending'), 0) AS pending_fen
FROM payments.batches b LEFT JOIN payments.payment_lines l ON l.batch_id = b.id AND l.status <> 'cancelled'
WHERE b.region_code LIKE :prefix AND b.period BETWEEN :first AND :last AND b.status <> 'cancelled'
GROUP BY b.id ORDER BY b.period, b.created_at
"""


class ReadModelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_case(self, data: EventData, **known: Any) -> None:
        """A case's row from one of its events: the columns the event carries or `known` gives, the others NULL
        (the upsert keeps what an earlier event set)."""
        await self.session.execute(text(_UPSERT_CASE), _columns(_CASE_COLUMNS, data, known))

    async def upsert_cases(self, rows: list[tuple[EventData, dict[str, Any]]]) -> None:
        """Many cases' rows as `upsert_case` makes each, in order: one statement per wave, a case at most once in a
        wave (a second event of one case in the run goes in the next wave, so its fold sees the first)."""
        waves: list[list[dict[str, Any]]] = []
        seen: dict[Any, int] = {}
        for data, known in rows:
            row = _columns(_CASE_COLUMNS, data, known)
            n = seen[row["case_id"]] = seen.get(row["case_id"], -1) + 1
            if n == len(waves):
                waves.append([])
            waves[n].append(row)
        for wave in waves:
            await self.session.execute(
                text(_UPSERT_CASES), {name: [row[name] for row in wave] for name in _CASE_COLUMNS}
            )

    async def set_case_due(self, case_id: uuid.UUID, region: str, due: date | None) -> None:
        await self.session.execute(text(_CASE_DUE), {"case_id": case_id, "region": region, "due": due})

    async def upsert_alert(self, data: EventData, **known: Any) -> None:
        """An alert's row from one of its events, as `upsert_case`."""
        await self.session.execute(text(_UPSERT_ALERT), _columns(_ALERT_COLUMNS, data, known))


class CountyRepository:
    """The figures for a region prefix and a range of months (`first`..`last` first days; `start`..`end` days)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        return list((await self.session.execute(text(sql), params)).mappings().all())

    async def cases(self, prefix: str, start: date, end: date, today: date) -> list[Any]:
        return await self._rows(_CASES, prefix=prefix + "%", start=start, end=end, today=today)

    async def overdue_now(self, prefix: str, today: date, limit: int) -> list[Any]:
        return await self._rows(_OVERDUE_NOW, prefix=prefix + "%", today=today, limit=limit)

    async def alerts(self, prefix: str, start: date, end: date, today: date) -> Any:
        return (await self._rows(_ALERTS, prefix=prefix + "%", start=start, end=end, today=today))[0]

    async def open_alerts_by_township(self, prefix: str, today: date) -> list[Any]:
        return await self._rows(_OPEN_ALERTS_BY_TOWNSHIP, prefix=prefix + "%", today=today)

    async def coverage(self, prefix: str, first: date, last: date, end: date) -> list[Any]:
        return await self._rows(_COVERAGE, prefix=prefix + "%", first=first, last=last, end=end)

    async def months(self, prefix: str, first: date, last: date) -> list[Any]:
        return await self._rows(_MONTHS, prefix=prefix + "%", first=first, last=last)

    async def batches(self, prefix: str, first: date, last: date) -> list[Any]:
        return await self._rows(_BATCHES, prefix=prefix + "%", first=first, last=last)


class SessionRepository:
    """The county console's browser sessions (登录会话), by the SHA-256 of their cookie's id."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, session_hash: bytes, sub: str, roles: list[str], region: str, expires_at: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO payments.county_sessions (session_hash, sub, roles, region, expires_at) "
                "VALUES (:h, :sub, :roles, :region, :expires_at)"
            ),
            {"h": session_hash, "sub": sub, "roles": roles, "region": region, "expires_at": expires_at},
        )

    async def live(self, session_hash: bytes) -> Any | None:
        """The session's row if it is neither revoked nor expired."""
        result = await self.session.execute(
            text(
                "SELECT sub, roles, region FROM payments.county_sessions "
                "WHERE session_hash = :h AND revoked_at IS NULL AND expires_at > now()"
            ),
            {"h": session_hash},
        )
        return result.first()

    async def revoke(self, session_hash: bytes) -> None:
        await self.session.execute(
            text(
                "UPDATE payments.county_sessions SET revoked_at = now() WHERE session_hash = :h AND revoked_at IS NULL"
            ),
            {"h": session_hash},
        )
