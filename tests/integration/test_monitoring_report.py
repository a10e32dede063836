"""The monthly report to 乡村振兴局 (GET /reports/monthly/{region}/{month}) for a month already past: what was open
and overdue at that month's end, not what is open today. The alerts are laid straight into monitoring's table (a
raise, a verification and a closure cannot be dated in the past through the API), in 黄龙县 (610631), which no
other test touches."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text

from shared.core.period import Period, china_today
from tests.conftest import bearer

RURAL = bearer("xczx-huanglong", ["partner:rural_revitalization"], "610631")
VILLAGE = "610631100201"


async def _alert(db, raised: date, due: date, closed: date | None) -> None:
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO monitoring.alerts (id, household_id, region_code, alert_type, status, due_date, trace,"
                " raised_on, verified_on, outcome, closed_on) VALUES (:id, :h, :r, 'below_monitoring_line', :s, :due,"
                " '{}'::jsonb, :raised, CAST(:closed AS date), CASE WHEN CAST(:closed AS date) IS NULL THEN NULL"
                " ELSE 'not_eligible' END, CAST(:closed AS date))"
            ),
            {
                "id": uuid.uuid4(),
                "h": uuid.uuid4(),
                "r": VILLAGE,
                "s": "closed" if closed else "dispatched",
                "due": due,
                "raised": raised,
                "closed": closed,
            },
        )


async def test_a_past_months_report_counts_what_was_open_and_overdue_at_its_end(api, db):
    """October 2025: A raised 10 Oct, due 25 Oct, closed 5 Nov — open and overdue at the end of October; B raised
    12 Oct and closed 20 Oct — not open then; C raised 2 Nov — not yet raised. November: A closed in November, C
    (due 20 Nov, open today) open and overdue at its end."""
    await _alert(db, date(2025, 10, 10), date(2025, 10, 25), date(2025, 11, 5))
    await _alert(db, date(2025, 10, 12), date(2025, 10, 30), date(2025, 10, 20))
    await _alert(db, date(2025, 11, 2), date(2025, 11, 20), None)

    async def figures(month: str) -> dict:
        r = await api("monitoring").get(f"/reports/monthly/610631/{month}", headers=RURAL)
        assert r.status_code == 200, r.text
        return r.json()["alerts"]

    october, november = await figures("2025-10"), await figures("2025-11")
    assert (october["raised"], october["closed"], october["open_at_month_end"], october["overdue"]) == (2, 1, 1, 1)
    assert (november["raised"], november["closed"], november["open_at_month_end"], november["overdue"]) == (1, 1, 1, 1)


async def test_a_month_not_yet_begun_is_refused_naming_the_month_and_this_month_is_counted_as_of_today(api, db):
    """Next month has no figures yet: 422 naming `month` (it answered with today's open count as its 'month end').
    This month's report says the day it is counted to (`as_of` today); a past month's, its last day."""
    today = china_today()
    ahead = await api("monitoring").get(f"/reports/monthly/610631/{Period.of(today).next()}", headers=RURAL)
    assert ahead.status_code == 422, ahead.text
    assert [e["field"] for e in ahead.json()["errors"]] == ["month"]
    now = await api("monitoring").get(f"/reports/monthly/610631/{Period.of(today)}", headers=RURAL)
    assert now.status_code == 200, now.text
    assert now.json()["as_of"] == today.isoformat()
    past = await api("monitoring").get("/reports/monthly/610631/2025-10", headers=RURAL)
    assert past.json()["as_of"] == "2025-10-31"
