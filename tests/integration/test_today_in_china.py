"""Between 00:00 and 08:00 China time (16:00–24:00 UTC the day before) a township official's today is China's, in
every service: the services' real apps in process, on the real PostgreSQL, with the whole process's clock moved
(time-machine: the date, datetime and time.time alike, no module's name patched) to the next 23:30 UTC, 07:30 the
next morning in China. A step dated that day is taken, a step without a date is dated it and so is its notice, the
worklist and the long-term notice say it is that day, and a roll row approved that day is not "in the future".

The clock moves forward, at most a day, so all the session already holds stays in its past; tokens are minted on the
moved clock (a session token could have expired by then)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from shared.official_document import chinese_date
from tests.conftest import actor_tokens, bearer
from tests.integration.test_eligibility_documents import _approve, _closing, _document, _opened
from tests.integration.test_eligibility_workflow import (  # noqa: F401 (open_wuqi_case is a fixture)
    _post,
    household_facts,
    open_wuqi_case,
    wuqi_household,
)
from tests.integration.test_intake_roll_import import (  # noqa: F401 (priced_by_eligibility is an autouse fixture)
    household,
    priced_by_eligibility,
    roll,
    settled,
    upload,
)

pytestmark = pytest.mark.integration

VILLAGE = "610626101237"  # 铁边城镇237村: no other test has anyone there


def _next_half_past_seven_in_china() -> datetime:
    """The next 23:30 UTC: 07:30 in China, whose date is already the next day's."""
    now = datetime.now(UTC)
    moment = now.replace(hour=23, minute=30, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


@pytest.fixture
def china_morning() -> Iterator[date]:
    """The clock at 07:30 in China (ticking on from there); yields China's date, the day after the UTC date."""
    moment = _next_half_past_seven_in_china()
    with time_machine.travel(moment, tick=True):
        assert datetime.now(UTC).date() == moment.date()
        yield moment.date() + timedelta(days=1)


async def test_a_township_officials_today_is_chinas_before_eight_in_the_morning(
    api,
    db,
    open_wuqi_case,  # noqa: F811
    china_morning: date,
) -> None:
    today, actors = china_morning, actor_tokens()
    eligibility = api("eligibility")
    snapshot = wuqi_household(region_code=VILLAGE)
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=snapshot)
    await _approve(api, actors, case_id)  # approved on 2023-09-25, paid from October 2023
    await household_facts(db, snapshot)

    # 复核 dated today in China: taken, not "in the future".
    r = await _post(api, actors, "reviewer", case_id, "review", {"on": today.isoformat(), "opinion": "定期核查"})
    assert r.status_code == 200, r.text

    # 停保 without a date: dated today in China, and so is its notice.
    r = await _post(api, actors, "approver", case_id, "termination", {"reason": "moved", "opinion": "迁往宝塔区"})
    assert r.status_code == 200, r.text
    stopped = _opened(await _document(api, actors, case_id, "termination-notice"))
    assert _closing(stopped) == ["吴起县民政局", chinese_date(today)]
    assert f"{today.year}年{today.month}月为最后发放月份" in "\n".join(p.text for p in stopped.paragraphs)

    # The worklist and the 长期公示 are as of today in China.
    r = await eligibility.get("/tasks", params={"limit": 1}, headers=actors["approver"])
    assert r.status_code == 200 and r.json()["today"] == today.isoformat(), r.text
    r = await eligibility.get(f"/notices/{VILLAGE}/recipients", params={"format": "json"}, headers=actors["reviewer"])
    assert r.status_code == 200 and r.json()["as_of"] == today.isoformat(), r.text


async def test_a_roll_row_approved_today_in_china_is_not_in_the_future(api, china_morning: date) -> None:
    admin = bearer("admin-wuqi", ["admin"], "610626")  # a county admin imports its county's roll
    approved_today = household("CN1")
    approved_today[0]["approved_on"] = china_morning.isoformat()
    r = await upload(api, roll(approved_today), headers=admin)
    assert r.status_code == 202, r.text
    body = await settled(api, r.json()["id"], ("validated", "failed"), headers=admin)
    assert body["status"] == "validated", body
    issues = await api("intake").get(f"/roll-imports/{body['id']}/issues", headers=admin)
    assert issues.status_code == 200, issues.text
    assert [i for i in issues.json()["items"] if i["field"] == "approved_on"] == []
    assert body["report"]["households_refused"] == 0, body["report"]
