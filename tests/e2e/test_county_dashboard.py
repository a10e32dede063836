"""Issue 10's done-when: for a 吴起县 demo month, the statistics endpoint, the .xlsx, the 工作总结 and the dashboard
page seen in headless Chromium (Debian's `chromium`, driven by Playwright; logged in with a dev token through the
login form) all show the same figures, which equal the batch and cases behind them."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, date, datetime

import httpx
import openpyxl
from aiokafka import AIOKafkaProducer

from shared.core.period import Period
from shared.events.catalogue import AlertRaised, CaseOpened, event_type, spec_for
from shared.events.envelope import DomainEvent
from tests.conftest import wait_for
from tests.county_kit import CountyKit, seed_demo_month

COUNTY, TOWNSHIP = "610626", "610626106"  # 吴起县, 五谷城镇: no other test has anyone on its roll
# Before any month another test's case is owed (a regular batch pays every month owed and unpaid as 补发, so a
# later batch of another test could pay months of 2023 on): no other test pays in this half-year in 吴起县.
MONTH = Period(2019, 8)


async def test_demo_month_is_the_same_everywhere(stack, db, tokens, browser, tmp_path):
    pay_url = stack.url("payments")

    async with httpx.AsyncClient(base_url=pay_url, timeout=20) as pay:
        demo = await seed_demo_month(
            CountyKit(db), pay, tokens["finance"], TOWNSHIP, MONTH, lambda: asyncio.sleep(0.2)
        )  # the payments worker process builds the batch
        params = {"region": COUNTY, "period": str(MONTH)}
        s = (await pay.get("/county/statistics", params=params, headers=tokens["finance"])).json()
        xlsx = (
            await pay.get("/county/statistics", params={**params, "format": "xlsx"}, headers=tokens["finance"])
        ).content
        summary = (
            await pay.get(
                "/county/report",
                params={"region": COUNTY, "year": MONTH.year, "half": 2, "format": "md"},
                headers=tokens["finance"],
            )
        ).text
    # The endpoint equals what was fed and paid (other tests' cases may start or stop somewhere in the county that
    # month, with nothing paid: a programme row of movements only).
    by = {p["programme"]: p for p in s["programmes"]}
    assert {k: (p["households"], p["persons"], p["money_fen"]) for k, p in by.items() if p["money_fen"]} == demo[
        "programmes"
    ]
    assert s["totals"]["money_fen"] == demo["money_fen"] == sum(b["total_fen"] for b in s["batches"])
    assert {k: s["cases_total"][k] for k in demo["cases"]} == demo["cases"]
    # The spreadsheet and the summary quote it.
    money = list(
        openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)["资金发放"].iter_rows(min_row=3, values_only=True)
    )
    assert [r[:3] for r in money[:-1]] == [(p["name"], p["households"], p["persons"]) for p in s["programmes"]]
    assert f"保障城乡低保对象{by['dibao']['households']}户{by['dibao']['persons']}人" in summary

    page = await browser.new_page()
    await page.goto(pay_url + "/county/dashboard")
    assert page.url.endswith("/county/login")  # no session: the login form
    await page.fill("#token", tokens["finance"]["Authorization"].removeprefix("Bearer "))
    await page.click("button[type=submit]")
    await page.wait_for_url("**/county/dashboard")
    cookies = await page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("county_session", True, "Strict")]
    await page.goto(f"{pay_url}/county/dashboard?region={COUNTY}&period={MONTH}")
    assert "吴起县社会救助工作台" in await page.title()
    shown = {
        await e.get_attribute("data-figure"): await e.inner_text()
        for e in await page.query_selector_all("[data-figure]")
    }
    await page.screenshot(path=str(tmp_path / "county-dashboard.png"), full_page=True)
    print(f"dashboard screenshot: {tmp_path / 'county-dashboard.png'}")

    expected = {
        "period": s["period"]["label"],
        "total.households": str(s["totals"]["households"]),
        "total.persons": str(s["totals"]["persons"]),
        "total.money_wan_yuan": s["totals"]["money_wan_yuan"],
        **{f"cases.{k}": str(s["cases_total"][k]) for k in ("received", "approved", "rejected", "overdue")},
        **{f"alerts.{k}": str(v) for k, v in s["alerts"].items()},
        "coverage.monitored": str(s["coverage"]["monitored_households"]),
        "coverage.covered": str(s["coverage"]["covered_households"]),
    }
    for p in s["programmes"]:
        expected |= {
            f"{p['programme']}.{k}": str(p[k])
            for k in ("households", "persons", "money_wan_yuan", "new", "stopped", "changed")
        }
    for b in s["batches"]:
        expected |= {
            f"batch.{b['id']}.line_count": str(b["line_count"]),
            f"batch.{b['id']}.total": f"{b['total_fen'] // 100}.{b['total_fen'] % 100:02d}",
            f"batch.{b['id']}.paid": f"{b['paid_fen'] // 100}.{b['paid_fen'] % 100:02d}",
        }
    assert {k: shown.get(k) for k in expected} == expected
    assert shown["dibao.money_wan_yuan"] == "0.20" and shown["total.households"] == "3"
    assert await page.locator("svg[aria-label=按月发放资金]").count() == 1
    # The demo's undecided case (due on the 20th) is among the overdue cases still open, named by its village.
    assert await page.locator("tr", has_text="五谷城镇202村").filter(has_text=f"{MONTH}-20").count() == 1
    assert await page.locator("td.ok", has_text="平衡").count() == len(s["batches"]) >= 1
    # Someone else's region is refused, even with the cookie.
    r = await page.goto(f"{pay_url}/county/dashboard?region=610625&period={MONTH}")
    assert r is not None and r.status == 403


async def test_the_payments_worker_keeps_the_county_read_model_from_kafka(stack, infra, tokens):
    """The running payments worker's `payments.county` group reads eligibility's and monitoring's topics."""
    township, case_id, alert_id, household = "610626105", uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    month = Period(2025, 9)
    when = datetime(2025, 9, 3, 2, tzinfo=UTC)
    events = [
        DomainEvent(
            type=event_type(CaseOpened),
            key=str(household),
            time=when,
            data=CaseOpened(
                case_id=case_id,
                application_id=uuid.uuid4(),
                household_id=household,
                programme="dibao",
                region_code=township + "201",
                status="accepted",
                due_date=date(2025, 9, 20),
            ),
        ),
        DomainEvent(
            type=event_type(AlertRaised),
            key=str(household),
            time=when,
            data=AlertRaised(
                alert_id=alert_id,
                household_id=household,
                region_code=township + "201",
                alert_type="sudden_hardship",
                due_date=date(2025, 9, 17),
                trace={"rule": "sudden_hardship"},
            ),
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(
                spec_for(e.type).topic.value, key=e.key.encode(), value=e.to_cloudevent("/tests", None).to_json()
            )
    finally:
        await producer.stop()

    async with httpx.AsyncClient(base_url=stack.url("payments"), timeout=20) as pay:

        async def figures():
            s = (
                await pay.get(
                    "/county/statistics", params={"region": township, "period": str(month)}, headers=tokens["auditor"]
                )
            ).json()
            return s if s["cases_total"]["received"] and s["alerts"]["raised"] else None

        s = await wait_for(figures, timeout=60)
    assert (s["cases_total"]["received"], s["cases_total"]["overdue"], s["alerts"]["raised"]) == (1, 1, 1)


def _forged_form(action: str, token: str | None = None) -> str:
    """Another site's page that posts a form to the console as soon as it loads (login / logout CSRF)."""
    field = f'<input name="token" value="{token}">' if token else ""
    return (
        f'<html><body><form id="f" method="post" action="{action}">{field}</form>'
        "<script>document.getElementById('f').submit()</script></body></html>"
    )


async def test_only_the_consoles_own_form_logs_in_or_out_and_logout_revokes(stack, tokens, browser):
    """A page on another site posting the login form (with the attacker's own token) gets 403 and no cookie; one
    posting the logout form gets 403 and the session lives on; the console's own 退出 revokes the session, so the
    cookie, put back into the browser, opens nothing."""
    pay_url = stack.url("payments")
    dashboard = f"{pay_url}/county/dashboard?region={COUNTY}&period=2025-07"
    attacker = "http://attacker.test"
    page = await browser.new_page()
    forged_token = tokens["auditor"]["Authorization"].removeprefix("Bearer ")
    await page.route(
        f"{attacker}/login",
        lambda route: route.fulfill(
            content_type="text/html", body=_forged_form(f"{pay_url}/county/login", forged_token)
        ),
    )
    await page.route(
        f"{attacker}/logout",
        lambda route: route.fulfill(content_type="text/html", body=_forged_form(f"{pay_url}/county/logout")),
    )

    async with page.expect_response(lambda r: r.url == f"{pay_url}/county/login") as answer:
        await page.goto(f"{attacker}/login")
    assert (await answer.value).status == 403
    assert await browser.cookies() == []

    await page.goto(dashboard)
    await page.fill("#token", tokens["finance"]["Authorization"].removeprefix("Bearer "))
    await page.click("button[type=submit]")
    await page.wait_for_url("**/county/dashboard")
    [cookie] = await browser.cookies()
    assert cookie["value"] not in tokens["finance"]["Authorization"]  # a session id, not the token

    async with page.expect_response(lambda r: r.url == f"{pay_url}/county/logout") as answer:
        await page.goto(f"{attacker}/logout")
    assert (await answer.value).status == 403
    assert (await page.goto(dashboard)).status == 200 and "工作台" in await page.title()

    await page.click("text=退出")  # the console's own logout form
    await page.wait_for_url("**/county/login")
    assert await browser.cookies() == []
    await browser.add_cookies([cookie])  # a copy of the cookie kept from before the logout
    await page.goto(dashboard)
    assert page.url.endswith("/county/login")
