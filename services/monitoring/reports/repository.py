"""The monthly report's queries: alert counts and 三类人群 coverage by programme for a region and month."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.risk.rules.rule import FEED_REACHES

# A month's figures as they stood at its end (a past month's report does not change when an alert closes later):
# open = raised by then and not closed by then; overdue = due before then (or before today, this month: `:overdue_on`)
# and not closed by then. Today is China's, passed in: the database's current_date is its session time zone's.
_ALERTS = """
SELECT
  count(*) FILTER (WHERE raised_on BETWEEN :first AND :last) AS raised,
  count(*) FILTER (WHERE verified_on BETWEEN :first AND :last) AS verified,
  count(*) FILTER (WHERE verified_on BETWEEN :first AND :last AND outcome = 'brought_into_assistance')
      AS brought_into_assistance,
  count(*) FILTER (WHERE verified_on BETWEEN :first AND :last AND outcome = 'not_eligible') AS not_eligible,
  count(*) FILTER (WHERE verified_on BETWEEN :first AND :last AND outcome = 'recipient_change') AS recipient_change,
  (SELECT count(*) FROM monitoring.reported_deaths d
   WHERE d.region_code LIKE :prefix AND d.reported_on BETWEEN :first AND :last) AS deaths_reported,
  count(*) FILTER (WHERE closed_on BETWEEN :first AND :last) AS closed,
  count(*) FILTER (WHERE raised_on <= :last AND (closed_on IS NULL OR closed_on > :last)) AS open_at_month_end,
  count(*) FILTER (WHERE due_date < :overdue_on AND (closed_on IS NULL OR closed_on > :overdue_on)) AS overdue
FROM monitoring.alerts WHERE region_code LIKE :prefix
"""

_BY_TYPE = """
SELECT alert_type, count(*) AS raised FROM monitoring.alerts
WHERE region_code LIKE :prefix AND raised_on BETWEEN :first AND :last GROUP BY alert_type ORDER BY alert_type
"""

# 三类人群: persons on a 乡村振兴局 list up to the month's end, matched to households in the region (within the list
# feed's region, as every match); a household is covered by a programme when a case of it is on the roll in the month.
_COVERAGE = f"""
WITH listed AS (
    SELECT DISTINCT ON (r.id_fingerprint) r.id_fingerprint, r.category, p.household_id
    FROM monitoring.feed_records r
    JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint AND p.active
    JOIN monitoring.households h ON h.household_id = p.household_id
    JOIN monitoring.feeds f ON f.id = r.feed_id AND {FEED_REACHES}
    WHERE r.kind = 'monitoring_list' AND r.event_date <= :last AND h.region_code LIKE :prefix
    ORDER BY r.id_fingerprint, r.event_date DESC, r.id DESC
),
covered AS (
    SELECT DISTINCT household_id, programme FROM monitoring.coverage
    WHERE since_month <= :first AND (last_month IS NULL OR last_month >= :first)
)
SELECT
  count(*) AS persons,
  count(DISTINCT l.household_id) AS households,
  count(*) FILTER (WHERE l.category = 'unstable') AS unstable,
  count(*) FILTER (WHERE l.category = 'marginal') AS marginal,
  count(*) FILTER (WHERE l.category = 'sudden') AS sudden,
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM covered c WHERE c.household_id = l.household_id
                                 AND c.programme = 'dibao')) AS dibao,
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM covered c WHERE c.household_id = l.household_id
                                 AND c.programme = 'tekun')) AS tekun,
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM covered c WHERE c.household_id = l.household_id
                                 AND c.programme = 'temporary')) AS temporary,
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM covered c WHERE c.household_id = l.household_id
                                 AND c.programme = 'medical')) AS medical
FROM listed l
"""


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def monthly(self, prefix: str, first: date, last: date, today: date) -> dict[str, Any]:
        binds = {"prefix": prefix.replace("%", "") + "%", "first": first, "last": last, "overdue_on": min(last, today)}
        alerts = (await self.session.execute(text(_ALERTS), binds)).mappings().one()
        by_type = {r.alert_type: r.raised for r in await self.session.execute(text(_BY_TYPE), binds)}
        coverage = (await self.session.execute(text(_COVERAGE), binds)).mappings().one()
        return {"alerts": dict(alerts), "raised_by_type": by_type, "coverage": dict(coverage)}
