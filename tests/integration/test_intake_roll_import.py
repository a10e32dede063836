"""存量对象导入 at intake, on the real database, priced by the real eligibility app in process: the dry run's report
(refused rows by line and field, never the ID number; the rows our rules price otherwise), the import (households,
members sealed, payees, applications `imported` and their events, amounts in fen), the same file twice, a household
already imported, all-or-nothing, and an import resumed after its process died mid-commit.

吴起县 (610626) rural 低保 today: 分档, 500元/人月 for a per-capita income under 100元, 450 under 200元
(services/eligibility/policy/parameters/610626.yaml): a two-person household without income is 1,000.00 元 =
100,000 fen; one person earning 150元 alone is 450元 (per capita under 200元) → 45,000 fen."""

from __future__ import annotations

import asyncio
import csv
import importlib
import importlib.util
import io
import json
import re
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from services.eligibility.cases.service import import_cases
from services.eligibility.models import platform as eligibility_platform
from services.intake.applications.service import mirror_case_events
from services.intake.config import Settings
from services.intake.models import platform
from services.intake.roll_import import job, service
from services.intake.roll_import.endpoints import eligibility_transport
from services.intake.sealed import open_account, open_id_number
from shared.app import app_settings
from shared.auth import Principal
from shared.core.identity import check_character
from shared.core.period import Period, china_today
from shared.db import session_factory
from shared.events.catalogue import ApplicationImported, CaseApproved, CaseOpened
from shared.jobs import Job
from shared.sealing import payee_binding
from shared.uow import UnitOfWork
from tests.conftest import bearer, wait_for
from tests.helpers import delivery, household_body, problem, resident_id

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

ADMIN = bearer("admin-wuqi", ["admin"], "610626")
VILLAGE = "610626101201"
COLUMNS = (
    "household_ref",
    "region_code",
    "hukou",
    "address",
    "name",
    "id_number",
    "relation",
    "covered",
    "monthly_income",
    "programme",
    "approved_on",
    "monthly_amount",
    "persons",
    "next_review_on",
    "bank_name",
    "account_holder",
    "account_number",
)
TITLES = {
    "household_ref": "户编号",
    "region_code": "村(社区)代码",
    "hukou": "户籍性质",
    "address": "地址",
    "name": "姓名",
    "id_number": "公民身份号码",
    "relation": "与户主关系",
    "covered": "是否保障对象",
    "monthly_income": "月收入(元)",
    "programme": "保障类别",
    "approved_on": "审批日期",
    "monthly_amount": "月保障金(元)",
    "persons": "保障人数",
    "next_review_on": "下次复核日期",
    "bank_name": "开户银行",
    "account_holder": "账户名",
    "account_number": "银行账号",
    "tekun_arrangement": "供养方式",
    "self_care": "生活自理能力",
    "disability_category": "残疾类别",
    "disability_grade": "残疾等级",
}


@pytest.fixture(autouse=True)
def priced_by_eligibility(api):
    """Intake reaches eligibility's real app (its lifespan started by `api`) in process. Imported here: the apps
    read their settings when first imported, after the test database is up."""
    intake_app = importlib.import_module("services.intake.api").app
    eligibility_app = importlib.import_module("services.eligibility.api").app
    intake_app.dependency_overrides[eligibility_transport] = lambda: httpx.ASGITransport(app=eligibility_app)
    yield
    intake_app.dependency_overrides.pop(eligibility_transport, None)


def household(ref: str, *, members: int = 2, amount: str = "1000.00", income: str = "", account: str = "") -> list:
    """A rural 低保 household's rows; the household's columns on its first row only."""
    account = account or f"62170{uuid.uuid4().int % 10**12:012d}"
    rows = []
    for i in range(members):
        first = i == 0
        rows.append(
            {
                "household_ref": ref,
                "region_code": VILLAGE if first else "",
                "hukou": "农村" if first else "",
                "address": f"铁边城镇{ref}组" if first else "",
                "name": "王秀英" if first else "李建国",
                "id_number": resident_id("19560312", not first),
                "relation": "户主" if first else "配偶",
                "covered": "是",
                "monthly_income": income if first else "",
                "programme": "低保" if first else "",
                "approved_on": "2024-03-15" if first else "",
                "monthly_amount": amount if first else "",
                "persons": str(members) if first else "",
                "next_review_on": "2027-03-01" if first else "",
                "bank_name": "吴起农村商业银行" if first else "",
                "account_holder": "王秀英" if first else "",
                "account_number": account if first else "",
            }
        )
    return rows


def one_person(ref: str, programme: str, birth: str, amount: str, arrangement: str) -> list:
    """A person-level household of one: the person covered, paid `amount` by the old system, 供养方式 given."""
    return [
        {
            **household(ref, members=1, amount=amount)[0],
            "id_number": resident_id(birth),
            "programme": programme,
            "tekun_arrangement": arrangement,
        }
    ]


def roll(*households: list, encoding: str = "utf-8") -> bytes:
    optional = [
        key
        for key in ("tekun_arrangement", "self_care", "disability_category", "disability_grade")
        if any(key in r for h in households for r in h)
    ]
    columns = [*COLUMNS, *optional]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([TITLES[c] for c in columns])
    for rows in households:
        for r in rows:
            writer.writerow([r.get(c, "") for c in columns])
    return out.getvalue().encode(encoding)


async def upload(api, content: bytes, *, all_or_nothing: bool = False, paid_through: str = "2026-11", headers=ADMIN):
    return await api("intake").post(
        "/roll-imports",
        files={"file": ("roll.csv", content, "text/csv")},
        data={"paid_through": paid_through, "all_or_nothing": str(all_or_nothing).lower()},
        headers=headers,
    )


async def settled(api, import_id: str, statuses: tuple[str, ...], headers=ADMIN) -> dict:
    async def done():
        body = (await api("intake").get(f"/roll-imports/{import_id}", headers=headers)).json()
        return body if body["status"] in statuses else None

    return await wait_for(done, timeout=60)


async def dry_run(api, content: bytes, **options) -> dict:
    r = await upload(api, content, **options)
    assert r.status_code == 202, r.text
    body = await settled(api, r.json()["id"], ("validated", "failed"))
    assert body["status"] == "validated", body
    return body


async def all_issues(api, import_id: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api("intake").get(f"/roll-imports/{import_id}/issues", params=params, headers=ADMIN)).json()
        items += page["items"]
        if not (cursor := page["next"]):
            return items


async def commit(api, import_id: str) -> dict:
    r = await api("intake").post(f"/roll-imports/{import_id}/commit", headers=ADMIN)
    assert r.status_code == 202, r.text
    return await settled(api, import_id, ("imported",))


async def events(db, import_id: str, kind: str) -> list[dict]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM intake.outbox WHERE type LIKE :type AND key IN (SELECT household_id::text "
                "FROM intake.roll_import_households WHERE import_id = :id AND status = 'imported') ORDER BY id"
            ),
            {"type": f"%.{kind}.v1", "id": import_id},
        )
        return [p["data"] for p in rows.scalars()]


async def test_the_template_explains_every_column(api) -> None:
    r = await api("intake").get("/roll-imports/template", headers=ADMIN)
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    assert book.sheetnames == ["花名册", "填表说明"]
    header = next(book["花名册"].iter_rows(values_only=True))
    explained = [row[0] for row in book["填表说明"].iter_rows(min_row=2, values_only=True) if row[1]]
    assert list(header) == explained and "公民身份号码" in header and "月保障金(元)" in header
    r = await api("intake").get("/roll-imports/template", params={"format": "csv"}, headers=ADMIN)
    assert r.content.decode("utf-8-sig").splitlines()[0].split(",") == list(header)


async def test_the_dry_run_reports_refusals_by_line_and_field_and_prices_by_our_rules(api, db) -> None:
    good = household("A1")  # 2 persons, no income: 500 × 2 = 100,000 fen, as paid
    differs = household("A2", members=1, amount="520.00", income="150.00")  # our rules: 450元 → 45,000 fen
    bad_id = household("A3")
    bad_id[1]["id_number"] = bad_id[1]["id_number"][:17] + ("0" if bad_id[1]["id_number"][17] != "0" else "1")
    outside = household("A4")
    outside[0]["region_code"] = "610625101201"  # 志丹县: not this admin's county
    no_head = household("A5")
    no_head[0]["relation"] = "子女"
    content = roll(good, differs, bad_id, outside, no_head, encoding="gbk")
    body = await dry_run(api, content)

    assert body["progress"] == {"done": 5, "total": 5}
    report = body["report"]
    assert report["rows"] == 9 and report["households"] == 5
    assert report["households_to_create"] == 2 and report["members_to_create"] == 3
    assert report["households_refused"] == 3 and report["rows_refused"] == 3 and report["amount_differs"] == 1
    assert report["by_programme"] == {"dibao": {"households": 2, "persons": 3, "monthly_amount_fen": 152_000}}

    issues = await all_issues(api, body["id"])
    assert [(i["line"], i["kind"], i["field"], i["household_ref"]) for i in issues] == [
        (4, "amount_differs", "monthly_amount", "A2"),
        (6, "refused", "id_number", "A3"),
        (7, "refused", "region_code", "A4"),
        (9, "refused", "relation", "A5"),
    ]
    assert "520.00" in issues[0]["message"] and "450.00" in issues[0]["message"]
    assert issues[1]["message"] == "the check character does not match"
    shown = json.dumps([body, issues], ensure_ascii=False)
    for rows in (good, differs, bad_id, outside, no_head):
        for r in rows:
            assert r["id_number"] not in shown and r["id_number"][:14] not in shown
    async with db.connect() as conn:  # the staged rows hold nothing in clear
        staged = await conn.execute(
            text("SELECT row_to_json(r)::text FROM intake.roll_import_rows r WHERE import_id = :id"), {"id": body["id"]}
        )
        dumped = "".join(staged.scalars())
    assert all(r["id_number"] not in dumped and r["account_number"] not in dumped for h in (good,) for r in h[:1])


async def test_the_import_creates_households_payees_applications_and_their_events(api, db) -> None:
    a, b = household("B1"), household("B2", members=1, amount="520.00", income="150.00")
    validated = await dry_run(api, roll(a, b))
    done = await commit(api, validated["id"])
    assert done["report"]["households_imported"] == 2 and done["progress"]["done"] == done["progress"]["total"]
    keyring = Settings().keyring()

    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT h.household_id, h.household_ref, x.bank_account_last4, x.bank_account_changed_at, "
                    "x.bank_account_key_id, x.bank_account_sealed, a.status, a.programme, a.submitted_on "
                    "FROM intake.roll_import_households h JOIN intake.households x ON x.id = h.household_id "
                    "JOIN intake.applications a ON a.id = h.application_id WHERE h.import_id = :id ORDER BY h.seq"
                ),
                {"id": validated["id"]},
            )
        ).all()
        members = (
            await conn.execute(
                text(
                    "SELECT m.id, m.household_id, m.name, m.id_number_key_id, m.id_number_sealed, m.id_number_masked "
                    "FROM intake.members m JOIN intake.roll_import_households h ON h.household_id = m.household_id "
                    "WHERE h.import_id = :id ORDER BY h.seq, m.name"
                ),
                {"id": validated["id"]},
            )
        ).all()
        staged = await conn.scalar(
            text("SELECT count(*) FROM intake.roll_import_rows WHERE import_id = :id"), {"id": validated["id"]}
        )
    assert [(r.household_ref, r.status, r.programme, str(r.submitted_on)) for r in rows] == [
        ("B1", "imported", "dibao", "2024-03-15"),
        ("B2", "imported", "dibao", "2024-03-15"),
    ]
    opened = {open_id_number(keyring, m.id, m.id_number_key_id, m.id_number_sealed) for m in members}
    assert opened == {r["id_number"] for r in [*a, *b]}
    for row, source in zip(rows, (a, b), strict=True):
        number = source[0]["account_number"]
        sealed = (row.household_id, row.bank_account_changed_at, row.bank_account_key_id, row.bank_account_sealed)
        assert open_account(keyring, *sealed) == number and row.bank_account_last4 == number[-4:]
    assert staged == 0  # the sealed staging rows are gone once imported

    imported = await events(db, validated["id"], "application.imported")
    assert [(e["monthly_amount_fen"], e["persons"], e["paid_through"], e["approved_on"]) for e in imported] == [
        (100_000, 2, "2026-11", "2024-03-15"),
        (52_000, 1, "2026-11", "2024-03-15"),
    ]
    assert [(e["amount_differs"], e["computed_amount_fen"]) for e in imported] == [(False, 100_000), (True, 45_000)]
    assert imported[0]["programme"] == "dibao" and imported[0]["import_id"] == validated["id"]
    assert imported[0]["next_review_on"] == "2027-03-01"
    by_household = {m.household_id: [] for m in members}
    for m in members:
        by_household[m.household_id].append(str(m.id))
    assert [sorted(e["covered_member_ids"]) for e in imported] == [sorted(v) for v in by_household.values()]
    registered = await events(db, validated["id"], "household.registered")
    assert [len(e["snapshot"]["members"]) for e in registered] == [2, 1]
    assert [e["household_version"] for e in registered] == [1, 1]  # as the households were written
    assert registered[1]["snapshot"]["incomes"][0]["monthly_amount_fen"] == 15_000
    payees = await events(db, validated["id"], "payee.changed")
    assert len(payees) == 2
    for payee, source in zip(payees, (a, b), strict=True):
        binding = payee_binding(payee["household_id"], datetime.fromisoformat(payee["changed_at"]))
        plain = json.loads(keyring.open(payee["key_id"], payee["sealed"], binding))
        assert plain == {
            "bank_name": "吴起农村商业银行",
            "account_holder": "王秀英",
            "account_number": source[0]["account_number"],
        }
        assert source[0]["account_number"] not in json.dumps(payee)


async def test_tekun_and_orphans_come_in_with_what_their_approval_established(api, db) -> None:
    """The template has no column for 特困's third condition (no legal supporter able to support, 民发〔2021〕43号):
    a person on the old 特困 roll was found so, and our rules must price them so, not as the front desk's default
    (a capable supporter: ineligible). 供养方式 says where a 特困 person or an orphan lives. 吴起县 (610626.yaml),
    rural: 特困 basic 7,800元/年 = 650.00 a month, never below 1.3 × the 低保 standard — 6,000元/年 in the tree
    (650.00), 7,200元/年 once test_eligibility_recompute's 2024 rise is in (9,360元/年 = 780.00) — plus 全自理 care
    2,520元/年 = 210.00: 860.00 or 990.00, whether 集中 or 分散; an orphan in a 福利机构 1,800.00 a month (社会散居
    1,400.00)."""
    standard = await api("eligibility").get(
        "/parameters/dibao.standard.rural", params={"region": "610626", "on": str(china_today())}, headers=ADMIN
    )
    tekun = {600_000: ("860.00", 86_000), 720_000: ("990.00", 99_000)}[standard.json()["value"]["fen"]]
    home = one_person("K1", "特困", "19400303", tekun[0], "分散")
    institution = one_person("K2", "特困", "19380101", tekun[0], "集中")
    orphan = one_person("K3", "孤儿", "20140601", "1800.00", "集中")
    validated = await dry_run(api, roll(home, institution, orphan))
    assert validated["report"]["amount_differs"] == 0, await all_issues(api, validated["id"])
    assert validated["report"]["households_to_create"] == 3
    await commit(api, validated["id"])

    imported = await events(db, validated["id"], "application.imported")
    assert [
        (e["programme"], e["monthly_amount_fen"], e["computed_amount_fen"], e["amount_differs"]) for e in imported
    ] == [
        ("tekun", tekun[1], tekun[1], False),
        ("tekun", tekun[1], tekun[1], False),
        ("orphan", 180_000, 180_000, False),
    ]
    registered = await events(db, validated["id"], "household.registered")
    facts = [
        (m.get("has_capable_supporter", True), m.get("in_institution"))
        for e in registered
        for m in e["snapshot"]["members"]
    ]
    assert facts == [(False, False), (False, True), (True, True)]  # an orphan's supporter is not the question
    async with db.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT m.facts->>'has_capable_supporter', m.facts->>'in_institution' FROM intake.members m "
                    "JOIN intake.roll_import_households h ON h.household_id = m.household_id "
                    "WHERE h.import_id = :id ORDER BY h.seq"
                ),
                {"id": validated["id"]},
            )
        ).all()
    assert [tuple(r) for r in stored] == [("false", "false"), ("false", "true"), ("true", "true")]


async def test_a_person_level_programme_names_the_person_it_covers_not_the_head(api, db) -> None:
    """An orphan living with the grandmother (户主, not covered): the application and its event name the child the
    programme pays (the rule prices the applicant of a person-level programme) — not the uncovered 户主, whom the
    rule finds no orphan (a routine review then stopped the child's benefit). A 特困 person who is the 户主 stays
    named. 社会散居 orphan, 1,400.00 a month."""
    grandmother = {
        **household("G1", members=1, amount="1400.00")[0],
        "id_number": resident_id("19550202", True),
        "name": "刘桂香",
        "programme": "孤儿",
        "covered": "否",
        "tekun_arrangement": "分散",
    }
    child = {
        **{k: "" for k in grandmother},
        "household_ref": "G1",
        "name": "刘强",
        "id_number": resident_id("20140601"),
        "relation": "孙子女",
        "covered": "是",
    }
    validated = await dry_run(api, roll([grandmother, child]))
    assert validated["report"]["households_to_create"] == 1, await all_issues(api, validated["id"])
    assert validated["report"]["amount_differs"] == 0, await all_issues(api, validated["id"])
    await commit(api, validated["id"])
    [imported] = await events(db, validated["id"], "application.imported")
    [registered] = await events(db, validated["id"], "household.registered")
    names = {m["member_id"]: m["name"] for m in registered["snapshot"]["members"]}
    assert names[imported["applicant_member_id"]] == "刘强"
    assert [names[m] for m in imported["covered_member_ids"]] == ["刘强"]
    async with db.connect() as conn:
        applicant = await conn.scalar(
            text(
                "SELECT m.name FROM intake.applications a JOIN intake.members m ON m.id = a.applicant_member_id "
                "JOIN intake.roll_import_households h ON h.application_id = a.id WHERE h.import_id = :id"
            ),
            {"id": validated["id"]},
        )
    assert applicant == "刘强"
    # Eligibility prices the child: an orphan, 1,400.00; a routine review on the same facts keeps it so.
    async with UnitOfWork(session_factory(db), eligibility_platform, "/tests") as uow:
        await import_cases(uow, [delivery(ApplicationImported.model_validate(imported))])
        await uow.commit()
    async with db.connect() as conn:
        case_id = await conn.scalar(
            text("SELECT id FROM eligibility.cases WHERE application_id = :a"), {"a": imported["application_id"]}
        )
    approver = bearer("approver-wuqi", ["county_approver"], "610626")
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=approver)).json()
    assert (case["eligible"], case["assessed_monthly_amount_fen"]) == (True, 140_000), case
    r = await api("eligibility").post(f"/cases/{case_id}/review", json={"on": str(china_today())}, headers=approver)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["monthly_amount_fen"]) == ("approved", 140_000)


async def test_tekun_care_comes_in_at_the_level_the_old_roll_records(api, db) -> None:
    """生活自理能力 priced as the file says: 吴起县's care standards (610626.yaml) 半护理 3,720元/年 = 310.00 and 全护理
    6,240元/年 = 520.00 a month on top of the basic 650.00 (780.00 after test_eligibility_recompute's 2024 rise): a
    person recorded 半护理 paid 960.00 (1,090.00) and one who cannot do five of the six activities paid 1,170.00
    (1,300.00) come in as paid, not flagged; without the column both would be priced at 全自理."""
    standard = await api("eligibility").get(
        "/parameters/dibao.standard.rural", params={"region": "610626", "on": str(china_today())}, headers=ADMIN
    )
    basic = {600_000: 65_000, 720_000: 78_000}[standard.json()["value"]["fen"]]
    partial, full = basic + 31_000, basic + 52_000
    half = [{**one_person("C1", "特困", "19400303", f"{partial / 100:.2f}", "分散")[0], "self_care": "半护理"}]
    five = [{**one_person("C2", "特困", "19380101", f"{full / 100:.2f}", "集中")[0], "self_care": "5"}]
    validated = await dry_run(api, roll(half, five))
    assert validated["report"]["amount_differs"] == 0, await all_issues(api, validated["id"])
    await commit(api, validated["id"])
    imported = await events(db, validated["id"], "application.imported")
    assert [(e["monthly_amount_fen"], e["computed_amount_fen"]) for e in imported] == [
        (partial, partial),
        (full, full),
    ]
    registered = await events(db, validated["id"], "household.registered")
    lost = [
        sum(1 for can in m.get("self_care", {}).values() if not can)
        for e in registered
        for m in e["snapshot"]["members"]
    ]
    assert lost == [1, 5]


async def test_a_second_programme_of_a_household_on_file_is_added_to_it(api, db) -> None:
    """A 低保 household whose son also receives 重度残疾人护理补贴: the old system keeps each programme as a record of
    its own, with the same people. The second comes in a second file once the first is imported: it joins the
    household on file — no second household, no second member, no second registration or payee — as an application
    for the son, paid to the household's account."""
    family = household("J1")
    first = await dry_run(api, roll(family))
    await commit(api, first["id"])
    care = [
        {**family[0], "household_ref": "J2", "covered": "否", "programme": "重度残疾人护理补贴", "persons": "1"},
        {**family[1], "household_ref": "J2", "covered": "是"},
    ]
    care[0]["monthly_amount"] = "120.00"
    second = await dry_run(api, roll(care))
    assert second["report"]["households_to_create"] == 0 and second["report"]["households_joined"] == 1
    assert second["report"]["households_refused"] == 0
    assert second["report"]["by_programme"]["disability_care"]["households"] == 1
    assert second["report"]["members_to_create"] == 0  # its members are on file
    joined = [i for i in await all_issues(api, second["id"]) if i["kind"] == "joined"]
    assert [(i["line"], i["household_ref"]) for i in joined] == [(2, "J2")]
    await commit(api, second["id"])

    async with db.connect() as conn:
        home = await conn.scalar(
            text("SELECT household_id FROM intake.roll_import_households WHERE import_id = :id"), {"id": first["id"]}
        )
        members = (
            await conn.execute(
                text("SELECT id, relation FROM intake.members WHERE household_id = :h ORDER BY relation"), {"h": home}
            )
        ).all()
        households = await conn.scalar(
            text(
                "SELECT count(DISTINCT m.household_id) FROM intake.members m JOIN intake.roll_import_households h "
                "ON h.household_id = m.household_id WHERE h.import_id IN (:a, :b)"
            ),
            {"a": first["id"], "b": second["id"]},
        )
        programmes = (
            await conn.scalars(
                text("SELECT programme FROM intake.applications WHERE household_id = :h ORDER BY programme"),
                {"h": home},
            )
        ).all()
        kinds = (
            await conn.scalars(text("SELECT type FROM intake.outbox WHERE key = :h ORDER BY id"), {"h": str(home)})
        ).all()
        [care_event] = (
            await conn.scalars(
                text("SELECT payload FROM intake.outbox WHERE payload::jsonb->'data'->>'import_id' = :id"),
                {"id": second["id"]},
            )
        ).all()
    assert households == 1 and len(members) == 2
    assert programmes == ["dibao", "disability_care"]
    son = next(m.id for m in members if m.relation == "spouse")  # the household()'s second member
    data = care_event["data"]
    assert (data["household_id"], data["programme"], data["monthly_amount_fen"]) == (
        str(home),
        "disability_care",
        12_000,
    )
    assert data["covered_member_ids"] == [str(son)]
    assert [k.split(".")[-2] for k in kinds] == ["registered", "changed", "imported", "imported"]


async def test_a_joined_household_takes_the_facts_its_programme_is_priced_on(api, db) -> None:
    """The second file's 残疾人生活补贴 is priced on the son's 肢体 grade 2, which intake's household (from the 低保
    file) does not have: the join writes it on the member (household.updated, audited), so a later review at the
    front desk's facts finds it. What the file leaves blank (no serious illness column filled) never erases what the
    front desk recorded (his serious illness, recorded between the two files)."""
    family = household("JF1")
    first = await dry_run(api, roll(family))
    await commit(api, first["id"])
    async with db.connect() as conn:
        home, son = (
            await conn.execute(
                text(
                    "SELECT m.household_id, m.id FROM intake.members m JOIN intake.roll_import_households h "
                    "ON h.household_id = m.household_id WHERE h.import_id = :id AND m.relation = 'spouse'"
                ),
                {"id": first["id"]},
            )
        ).one()
    r = await api("intake").patch(f"/households/{home}/members/{son}", json={"serious_illness": True}, headers=ADMIN)
    assert r.status_code == 200, r.text
    living = [
        {**family[0], "household_ref": "JF2", "covered": "否", "programme": "残疾人生活补贴", "persons": "1"},
        {**family[1], "household_ref": "JF2", "covered": "是", "disability_category": "肢体", "disability_grade": "2"},
    ]
    living[0]["monthly_amount"] = "85.00"
    second = await dry_run(api, roll(living))
    assert second["report"]["households_joined"] == 1
    await commit(api, second["id"])
    read = (await api("intake").get(f"/households/{home}", headers=ADMIN)).json()
    on_file = next(m["facts"] for m in read["members"] if m["id"] == str(son))
    assert (on_file["disability_category"], on_file["disability_grade"], on_file["serious_illness"]) == (
        "physical",
        2,
        True,
    )
    *_, updated = await events(db, second["id"], "household.updated")  # the front desk's edit, then the join's
    assert updated["household_version"] == read["version"] == 3  # registered by the import, edited, joined
    [facts] = [m for m in updated["snapshot"]["members"] if m["member_id"] == str(son)]
    assert (facts["disability_grade"], facts["serious_illness"]) == (2, True)


async def test_the_same_file_again_is_the_same_import(api, db) -> None:
    content = roll(household("C1"))
    first = await dry_run(api, content)
    r = await upload(api, content)
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    assert r.json()["id"] == first["id"]
    async with db.connect() as conn:
        staged = await conn.scalar(
            text("SELECT count(*) FROM intake.roll_imports WHERE sha256 = :s"), {"s": first["sha256"]}
        )
    assert staged == 1


async def test_the_same_file_with_other_options_is_refused_naming_the_option(api, db) -> None:
    """An officer correcting the month the old system paid through (or the all-or-nothing choice) by uploading the
    same file again must not be answered with the first import, its old option kept without a word: the months
    between would be paid twice or never. A 409 names the option; the import stays as it was."""
    content = roll(household("C9"))
    first = await dry_run(api, content)
    for options, field in (({"paid_through": "2026-09"}, "paid_through"), ({"all_or_nothing": True}, "all_or_nothing")):
        r = await upload(api, content, **options)
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == field, r.text
        assert first["id"] in r.json()["detail"]
    again = (await api("intake").get(f"/roll-imports/{first['id']}", headers=ADMIN)).json()
    assert (again["paid_through"], again["all_or_nothing"], again["status"]) == ("2026-11", False, "validated")


async def test_a_household_already_imported_is_skipped_not_doubled(api, db) -> None:
    kept = household("D1")
    await commit(api, (await dry_run(api, roll(kept)))["id"])
    again = await dry_run(api, roll(kept, household("D2")))  # another file: the same household, and a new one
    assert again["report"]["households_skipped"] == 1 and again["report"]["households_to_create"] == 1
    issues = await all_issues(api, again["id"])
    assert [(i["line"], i["kind"], i["household_ref"]) for i in issues] == [(2, "skipped", "D1")]
    await commit(api, again["id"])
    async with db.connect() as conn:
        counted = await conn.scalar(
            text(
                "SELECT count(*) FROM intake.members m JOIN intake.roll_import_households h "
                "ON h.household_id = m.household_id WHERE h.household_ref = 'D1' AND m.active"
            )
        )
    assert counted == 2
    assert len(await events(db, again["id"], "application.imported")) == 1


async def test_a_household_an_earlier_import_brought_in_is_skipped_as_imported_once_approved(api, db) -> None:
    """The first file's household came in, and eligibility approved its imported case (the application mirrored
    `approved`): a later file listing it again skips it saying an earlier import brought it in — not that the
    front desk approved it."""
    kept = household("E1")
    first = await commit(api, (await dry_run(api, roll(kept)))["id"])
    [event] = await events(db, first["id"], "application.imported")
    common = {
        "case_id": uuid.uuid4(),
        "application_id": event["application_id"],
        "household_id": event["household_id"],
        "programme": "dibao",
        "region_code": VILLAGE,
    }
    async with intake_units(db)() as unit:  # as intake's consumer applies eligibility's imported case
        await mirror_case_events(
            unit,
            [
                delivery(CaseOpened(**common, status="approved")),
                delivery(
                    CaseApproved(
                        **common,
                        member_ids=[],
                        monthly_amount_fen=100_000,
                        effective_month=Period(2024, 4),
                        decided_at=datetime.now(UTC),
                    )
                ),
            ],
        )
        await unit.commit()
    assert await applications_of(db, event["household_id"]) == [("dibao", "approved")]
    again = await dry_run(api, roll(kept, household("E2")))  # another file: the same household, and a new one
    [skipped] = [i for i in await all_issues(api, again["id"]) if i["kind"] == "skipped"]
    assert (skipped["line"], skipped["kind"], skipped["household_ref"]) == (2, "skipped", "E1")
    assert "imported before" in skipped["message"], skipped["message"]
    assert "front desk" not in skipped["message"] and event["application_id"] in skipped["message"]


async def test_the_origin_migration_finds_applications_imported_before_it_once_approved_and_purged(api, db) -> None:
    """Migration 0020's back-fill: an application imported before the column existed, approved since (its
    decision replaced) and its import's staging purged, is found by the import's audit record; one taken at the
    front desk stays `front_desk`."""
    first = await commit(api, (await dry_run(api, roll(household("O1"))))["id"])
    [event] = await events(db, first["id"], "application.imported")
    home, _ = await at_the_front_desk(api)
    front = await apply_at_the_front_desk(api, home)
    path = REPO / "services/intake/migrations/versions/0020_intake_application_origin.py"
    spec = importlib.util.spec_from_file_location("origin_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    ids = [event["application_id"], front]
    async with db.begin() as conn:  # as before the column: the approval's decision, the staging purged
        await conn.execute(
            text(
                "UPDATE intake.applications SET origin = 'front_desk', status = 'approved', "
                "decision = '{\"monthly_amount_fen\": 100000}' WHERE id = :a"
            ),
            {"a": event["application_id"]},
        )
        await conn.execute(text("DELETE FROM intake.roll_import_households WHERE import_id = :i"), {"i": first["id"]})
        await conn.execute(text(migration.BACKFILL))
        origins = dict(
            (
                await conn.execute(
                    text("SELECT id::text, origin FROM intake.applications WHERE id::text = ANY(:ids)"), {"ids": ids}
                )
            ).all()
        )
    assert origins == {event["application_id"]: "roll_import", front: "front_desk"}


async def test_a_marginal_household_at_no_cash_is_imported_as_paid_not_flagged(api, db) -> None:
    """低保边缘 pays no cash: a rural household of 2 earning 1,200.00 a month (600.00 a head: not below the
    standard, 500.00 or 600.00 after test_eligibility_recompute's rise, and below 1.5 × it) paid 0.00 is what our
    rules find — not an amount that differs (which put it due for review on the import day)."""
    rows = household("M1", amount="0.00", income="1200.00")
    rows[0]["programme"] = "低保边缘"
    validated = await dry_run(api, roll(rows))
    assert await all_issues(api, validated["id"]) == []
    report = validated["report"]
    assert report["amount_differs"] == 0
    assert report["by_programme"] == {"marginal": {"households": 1, "persons": 2, "monthly_amount_fen": 0}}
    await commit(api, validated["id"])
    [event] = await events(db, validated["id"], "application.imported")
    assert (event["monthly_amount_fen"], event["computed_amount_fen"], event["amount_differs"]) == (0, 0, False)
    assert event["persons"] == 2


async def test_dates_no_roll_can_hold_are_refused_by_line_and_field(api) -> None:
    """An approval before the person it covers was born (a person-level programme) or before every member was
    born (a household's), and a next review before the approval, are refused naming the line and the column —
    the review date on a later row of the household too. A review date past but after the approval is a review
    overdue, and taken."""
    born_later = one_person("T1", "特困", "19900215", "860.00", "分散")
    born_later[0]["approved_on"] = "1985-01-01"
    household_unborn = household("T2")  # both members born 1956
    household_unborn[0]["approved_on"] = "1950-06-01"
    review_first = household("T3")
    review_first[0].update(approved_on="2024-06-01", next_review_on="")
    review_first[1]["next_review_on"] = "2023-01-01"
    overdue = household("T4")
    overdue[0].update(approved_on="2024-06-01", next_review_on="2025-06-01")
    validated = await dry_run(api, roll(born_later, household_unborn, review_first, overdue))
    issues = await all_issues(api, validated["id"])
    refused = [(i["line"], i["household_ref"], i["field"]) for i in issues if i["kind"] == "refused"]
    assert refused == [(2, "T1", "approved_on"), (3, "T2", "approved_on"), (6, "T3", "next_review_on")], issues
    assert "birth" in issues[0]["message"] and "approv" in issues[2]["message"]
    assert validated["report"]["households_refused"] == 3 and validated["report"]["households_to_create"] == 1
    shown = json.dumps(issues, ensure_ascii=False)
    assert all(r["id_number"] not in shown for h in (born_later, household_unborn) for r in h)


async def test_an_id_number_with_an_impossible_birth_date_is_refused_without_a_digit_of_it(api, db) -> None:
    """The birth date is eight of the number's digits: a member whose number holds 1962-02-30, 2099-01-01 or
    1899-12-31 (the check character right) is refused on id_number, and the issue stored holds none of them."""
    whys = ("not a calendar date", "in the future", "before 1900")
    households = [household(f"B{i}") for i in range(3)]
    for rows, first17 in zip(households, ("61062619620230123", "61062620990101123", "61062618991231123"), strict=True):
        rows[1]["id_number"] = first17 + check_character(first17)
    validated = await dry_run(api, roll(*households))
    issues = [i for i in await all_issues(api, validated["id"]) if i["kind"] == "refused"]
    assert [(i["household_ref"], i["field"]) for i in issues] == [
        ("B0", "id_number"),
        ("B1", "id_number"),
        ("B2", "id_number"),
    ], issues
    for why, issue in zip(whys, issues, strict=True):
        assert issue["message"] == f"the birth date in the number is {why}", issue
        assert not set(re.findall(r"\d+", issue["message"])) - {"1900"}, issue
    async with db.connect() as conn:  # what is stored, not only what is shown
        stored = (
            await conn.execute(
                text(
                    "SELECT string_agg(row_to_json(i)::text, ' ') FROM intake.roll_import_issues i "
                    "WHERE import_id = :id"
                ),
                {"id": validated["id"]},
            )
        ).scalar_one()
    for rows in households:
        number = rows[1]["id_number"]
        assert number[6:14] not in stored and f"{number[6:10]}-{number[10:12]}" not in stored


# --- a household on file with a live application of the programme (one live entitlement per household and
# programme: intake's uq_applications_live) --------------------------------------------------------------------

CLERK = bearer("clerk-tiebian", ["clerk"], "610626101")


async def at_the_front_desk(api) -> tuple[str, list]:
    """A household the front desk registered (head and spouse, in the file's village), and the rows of a file that
    lists the same two persons."""
    body = household_body(region_code=VILLAGE)
    r = await api("intake").post("/households", json=body, headers=CLERK)
    assert r.status_code == 201, r.text
    rows = household(f"FD{uuid.uuid4().hex[:6]}")
    for row, member in zip(rows, body["members"], strict=True):
        row["id_number"] = member["id_number"]
    return r.json()["id"], rows


async def apply_at_the_front_desk(api, household_id: str, programme: str = "dibao") -> str:
    r = await api("intake").post(
        "/applications",
        json={"household_id": household_id, "programme": programme, "consent_signed": True},
        headers=CLERK,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def applications_of(db, household_id: str) -> list[tuple[str, str]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT programme, status FROM intake.applications WHERE household_id = :h ORDER BY created_at"),
            {"h": household_id},
        )
        return [tuple(r) for r in rows]


async def test_a_household_on_file_with_an_open_application_of_the_programme_is_refused_by_the_dry_run(api, db) -> None:
    """The front desk registered the household and its 低保 application is open (not yet decided): the file cannot
    add the programme to it (the import would hit the one live application per household and programme), so the
    dry run refuses it, naming the application; the rest of the file is imported."""
    home, rows = await at_the_front_desk(api)
    open_application = await apply_at_the_front_desk(api, home)
    rows[0]["household_ref"] = rows[1]["household_ref"] = "N1"
    validated = await dry_run(api, roll(rows, household("N2")))
    report = validated["report"]
    assert (report["households_refused"], report["households_joined"], report["households_to_create"]) == (1, 0, 1)
    issues = await all_issues(api, validated["id"])
    assert [(i["line"], i["kind"], i["household_ref"], i["field"]) for i in issues] == [
        (2, "refused", "N1", "programme")
    ]
    assert open_application in issues[0]["message"] and "submitted" in issues[0]["message"]
    assert all(r["id_number"] not in json.dumps(issues) for r in rows)

    done = await commit(api, validated["id"])
    assert (done["report"]["households_imported"], done["report"]["households_refused"]) == (1, 1)
    assert await applications_of(db, home) == [("dibao", "submitted")]  # nothing added to it


async def test_an_import_that_failed_and_was_purged_starts_over_from_its_dry_run(api, db) -> None:
    """An import that failed at commit, then kept past the retention: its staging is purged. The same file uploaded
    again is staged anew and its dry run starts over; its import starts over from that report (…/commit does not
    take up the old failed import's chunks, whose staged rows are gone)."""
    units = intake_units(db)
    settings = Settings()
    content = roll(household("PF1"))
    failing = (await dry_run(api, content))["id"]
    async with units() as unit:
        await service.start_import(unit, Principal("admin-wuqi", frozenset({"admin"}), "610626"), uuid.UUID(failing))
        await unit.commit()
    async with db.begin() as conn:
        await conn.execute(
            text("""UPDATE intake.roll_import_households SET "values" = "values" - 'hukou' WHERE import_id = :id"""),
            {"id": failing},
        )
    await job.run_import(units, uuid.UUID(failing), settings)
    assert (await read_import(api, failing))["status"] == "failed"
    await age(db, settings.roll_import_retention_days + 1, failing)
    assert failing in {str(p.import_id) for p in await job.purge_expired(units, settings)}

    r = await upload(api, content)
    assert r.status_code == 200 and r.json()["id"] == failing, r.text
    again = await settled(api, failing, ("validated", "failed"))
    assert (again["status"], again["committed_at"], again["purged_at"]) == ("validated", None, None), again
    done = await commit(api, failing)
    assert done["report"]["households_imported"] == 1


async def test_a_household_that_got_the_programme_after_the_dry_run_is_refused_by_the_import_the_rest_imported(
    api, db
) -> None:
    """The dry run found the household on file without 低保 (joined); before the import ran, the front desk took a
    低保 application for it. The import refuses that household (counted, with why, never an ID number) and imports
    the others of the chunk: no retry for ever, no import stuck `importing`."""
    home, rows = await at_the_front_desk(api)
    rows[0]["household_ref"] = rows[1]["household_ref"] = "M2"
    validated = await dry_run(api, roll(household("M1"), rows, household("M3")))
    assert (validated["report"]["households_joined"], validated["report"]["households_to_create"]) == (1, 2)
    taken = await apply_at_the_front_desk(api, home)

    r = await api("intake").post(f"/roll-imports/{validated['id']}/commit", headers=ADMIN)
    assert r.status_code == 202, r.text
    done = await settled(api, validated["id"], ("imported", "failed"))
    assert (done["status"], done["error"]) == ("imported", None), done
    assert done["progress"]["done"] == done["progress"]["total"] == 3
    report = done["report"]
    assert (report["households_imported"], report["households_refused"], report["households_joined"]) == (2, 1, 0)
    refused = [i for i in await all_issues(api, validated["id"]) if i["kind"] == "refused"]
    assert [(i["line"], i["household_ref"], i["field"]) for i in refused] == [(4, "M2", "programme")]
    assert taken in refused[0]["message"]
    assert all(r["id_number"] not in json.dumps(refused) for r in rows)
    assert await applications_of(db, home) == [("dibao", "submitted")]
    imported = await events(db, validated["id"], "application.imported")
    assert len(imported) == 2 and home not in {e["household_id"] for e in imported}


async def test_a_front_desk_application_committing_while_the_chunk_runs_is_waited_for_not_doubled(api, db) -> None:
    """The race the checks cannot see: the front desk's 低保 application for the household on file is being written
    (not yet committed) when the import's chunk writes its own. The import waits for it and, once it is committed,
    refuses that household and imports the rest of the chunk."""
    units = intake_units(db)
    admin = Principal("admin-wuqi", frozenset({"admin"}), "610626")
    home, rows = await at_the_front_desk(api)
    rows[0]["household_ref"] = rows[1]["household_ref"] = "RC2"
    validated = await dry_run(api, roll(household("RC1"), rows))
    assert validated["report"]["households_joined"] == 1
    async with units() as unit:
        await service.start_import(unit, admin, uuid.UUID(validated["id"]))
        await unit.commit()
    desk = uuid.uuid4()
    async with db.connect() as holder:
        await holder.execute(
            text(
                "INSERT INTO intake.applications (id, household_id, region_code, programme, status, submitted_on, "
                "consent_signed, separate_register, details) "
                "VALUES (:id, :h, :village, 'dibao', 'submitted', current_date, true, false, '{}')"
            ),
            {"id": desk, "h": home, "village": VILLAGE},
        )
        importing = asyncio.create_task(job.run_import(units, uuid.UUID(validated["id"]), Settings()))

        async def waiting() -> bool:
            async with db.connect() as conn:
                found = await conn.execute(
                    text(
                        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%INSERT INTO intake.applications%'"
                    )
                )
                return found.scalar() is not None

        await wait_for(waiting, timeout=30)
        await holder.commit()
    await importing
    done = await read_import(api, validated["id"])
    assert (done["status"], done["report"]["households_imported"], done["report"]["households_refused"]) == (
        "imported",
        1,
        1,
    ), done
    [refused] = [i for i in await all_issues(api, validated["id"]) if i["kind"] == "refused"]
    assert (refused["household_ref"], refused["field"]) == ("RC2", "programme") and str(desk) in refused["message"]
    assert await applications_of(db, home) == [("dibao", "submitted")]


async def test_an_import_that_cannot_go_on_ends_failed_and_does_not_hold_up_the_others(api, db, monkeypatch) -> None:
    """Three imports waiting for the intake worker: the first's staged data make its chunk fail the same way each
    time (here a household without its 户籍性质, as no dry run would have passed), the third loses its database
    connection once. The worker's round imports the second; the first ends `failed` with why (not retried for ever,
    nothing of its chunk written); the third is left `importing` and imported by the next round. Once the cause is
    removed, POST …/commit takes the failed one up from its last committed chunk."""
    units = intake_units(db)
    settings = Settings()
    admin = Principal("admin-wuqi", frozenset({"admin"}), "610626")
    poison, good, flaky = [(await dry_run(api, roll(household(ref))))["id"] for ref in ("W1", "W2", "W3")]
    for import_id in (poison, good, flaky):  # committed, their chunks not run yet (as when the worker is down)
        async with units() as unit:
            await service.start_import(unit, admin, uuid.UUID(import_id))
            await unit.commit()
    async with db.begin() as conn:
        await conn.execute(
            text("""UPDATE intake.roll_import_households SET "values" = "values" - 'hukou' WHERE import_id = :id"""),
            {"id": poison},
        )
    real, lost = service.commit_step, []

    async def connection_lost_once(uow, import_id, chunk, settings):
        if str(import_id) == flaky and not lost:
            lost.append(import_id)
            raise ConnectionResetError("connection to the database lost")
        return await real(uow, import_id, chunk, settings)

    monkeypatch.setattr(service, "commit_step", connection_lost_once)

    await job.commit_pending(units, settings)  # the worker's round
    failed, imported, waiting = [await read_import(api, i) for i in (poison, good, flaky)]
    assert (imported["status"], imported["report"]["households_imported"]) == ("imported", 1)
    assert (failed["status"], failed["progress"]["done"]) == ("failed", 0)
    assert "hukou_type" in failed["error"] and "POST /roll-imports/{id}/commit" in failed["error"], failed["error"]
    assert (waiting["status"], waiting["error"]) == ("importing", None)
    async with db.connect() as conn:
        written = await conn.scalar(
            text(
                "SELECT count(*) FROM intake.households x JOIN intake.roll_import_households h "
                "ON h.household_id = x.id WHERE h.import_id = :id"
            ),
            {"id": poison},
        )
    assert written == 0

    await job.commit_pending(units, settings)  # the next round: the interrupted one, never the failed one
    assert (await read_import(api, flaky))["status"] == "imported"
    assert (await read_import(api, poison))["status"] == "failed"
    problem(await api("intake").post(f"/roll-imports/{poison}/dry-run", headers=ADMIN), 409, "status")

    async with db.begin() as conn:
        await conn.execute(
            text("""UPDATE intake.roll_import_households SET "values" = "values" || '{"hukou": "rural"}'::jsonb
                    WHERE import_id = :id"""),
            {"id": poison},
        )
    monkeypatch.setattr(service, "commit_step", real)
    r = await api("intake").post(f"/roll-imports/{poison}/commit", headers=ADMIN)
    assert r.status_code == 202 and (r.json()["status"], r.json()["error"]) == ("importing", None), r.text
    done = await settled(api, poison, ("imported", "failed"))
    assert (done["status"], done["report"]["households_imported"]) == ("imported", 1), done


async def test_text_longer_than_the_front_desk_takes_is_refused_on_its_column_never_a_500(api, db) -> None:
    """What a row may hold is what the front desk takes and the column it is written to holds: a name (姓名, 账户名)
    1–50 characters (`PersonName`), the bank's name 1–100, the address 1–200. Longer is refused on its column at the
    upload's row check, like any other row error — never imported beyond the limit, never a 500 from the staging
    COPY, never an import that fails at commit."""
    long_name = household("T1")
    long_name[1]["name"] = "买买提·" + "艾" * 48  # 52 characters: the front desk refuses it
    longer_name = household("T2")
    longer_name[0]["name"] = "王" * 120  # past the staging column's 100
    long_holder = household("T3")
    long_holder[0]["account_holder"] = "李" * 120  # passed the dry run, failed the commit (households varchar(100))
    long_bank = household("T4")
    long_bank[0]["bank_name"] = "吴起农村商业银行" * 13  # 104 characters: was cut to 100 without a word
    long_address = household("T5")
    long_address[0]["address"] = "铁边城镇" * 51  # 204 characters
    fits = household("T6")
    fits[0]["name"] = fits[0]["account_holder"] = "买买提·" + "艾" * 46  # 50 characters: taken
    r = await upload(api, roll(long_name, longer_name, long_holder, long_bank, long_address, fits))
    assert r.status_code == 202, r.text
    validated = await settled(api, r.json()["id"], ("validated", "failed"))
    assert validated["status"] == "validated", validated
    report = validated["report"]
    assert (report["households_refused"], report["households_to_create"], report["rows_refused"]) == (5, 1, 5)
    issues = await all_issues(api, validated["id"])
    assert [(i["line"], i["household_ref"], i["field"], i["message"]) for i in issues] == [
        (3, "T1", "name", "must be 1–50 characters"),
        (4, "T2", "name", "must be 1–50 characters"),
        (6, "T3", "account_holder", "must be 1–50 characters"),
        (8, "T4", "bank_name", "must be 1–100 characters"),
        (10, "T5", "address", "must be 1–200 characters"),
    ]
    shown = json.dumps(issues, ensure_ascii=False)
    assert all(r["id_number"] not in shown for h in (long_name, longer_name, long_holder) for r in h)

    done = await commit(api, validated["id"])
    assert (done["status"], done["error"], done["report"]["households_imported"]) == ("imported", None, 1)
    async with db.connect() as conn:
        written = (
            await conn.execute(
                text(
                    "SELECT max(length(m.name)), max(length(x.bank_account_holder)) FROM intake.households x "
                    "JOIN intake.members m ON m.household_id = x.id JOIN intake.roll_import_households h "
                    "ON h.household_id = x.id WHERE h.import_id = :id"
                ),
                {"id": validated["id"]},
            )
        ).one()
    assert tuple(written) == (50, 50)


async def test_a_household_the_front_desk_approved_is_skipped_as_receiving_the_programme(api, db) -> None:
    """The household came through the front desk and its 低保 was approved (eligibility's case mirrored): the file's
    row for it is skipped, not doubled, and the report says it already receives the programme, naming the
    application and the case — not that it was imported before."""
    home, rows = await at_the_front_desk(api)
    application = await apply_at_the_front_desk(api, home)
    case_id = uuid.uuid4()
    common = {
        "case_id": case_id,
        "application_id": application,
        "household_id": home,
        "programme": "dibao",
        "region_code": VILLAGE,
    }
    async with intake_units(db)() as unit:  # as intake's consumer applies eligibility's decision
        await mirror_case_events(
            unit,
            [
                delivery(CaseOpened(**common, status="investigation")),
                delivery(
                    CaseApproved(
                        **common,
                        member_ids=[],
                        monthly_amount_fen=100_000,
                        effective_month=Period(2026, 1),
                        decided_at=datetime.now(UTC),
                    )
                ),
            ],
        )
        await unit.commit()
    assert await applications_of(db, home) == [("dibao", "approved")]
    rows[0]["household_ref"] = rows[1]["household_ref"] = "S1"
    validated = await dry_run(api, roll(rows, household("S2")))
    report = validated["report"]
    assert (report["households_skipped"], report["households_refused"], report["households_to_create"]) == (1, 0, 1)
    [skipped] = await all_issues(api, validated["id"])
    assert (skipped["line"], skipped["kind"], skipped["household_ref"]) == (2, "skipped", "S1")
    assert application in skipped["message"] and str(case_id) in skipped["message"], skipped["message"]
    assert "already receives" in skipped["message"] and "imported before" not in skipped["message"]
    await commit(api, validated["id"])
    assert await applications_of(db, home) == [("dibao", "approved")]


async def test_an_xlsx_row_refused_as_it_is_read_is_reported_under_its_own_household(api) -> None:
    """An ID number typed into a number cell is refused as the workbook is read. The refusal names the row's own
    户编号, and its household is refused with it — never left to be imported without that member."""
    r = await api("intake").get("/roll-imports/template", headers=ADMIN)
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["花名册"]
    header = [c.value for c in sheet[1]]
    keys = {title: key for key, title in TITLES.items()}
    family = household("XN2")
    family[0]["persons"] = "1"  # the head covered alone: without the spouse's row it would still be a household
    family[1]["covered"] = "否"
    while not family[1]["id_number"][-1].isdigit():
        family[1]["id_number"] = resident_id("19560312", False)
    for row in [*household("XN1"), *family]:
        values = [row.get(keys.get(title), "") for title in header]
        if row is family[1]:
            values[header.index("公民身份号码")] = int(row["id_number"])  # a number cell
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    r = await api("intake").post(
        "/roll-imports",
        files={"file": ("吴起县.xlsx", out.getvalue(), "application/octet-stream")},
        data={"paid_through": "2026-11"},
        headers=ADMIN,
    )
    assert r.status_code == 202, r.text
    body = await settled(api, r.json()["id"], ("validated", "failed"))
    assert body["status"] == "validated", body
    report = body["report"]
    assert (report["households"], report["households_refused"], report["households_to_create"]) == (2, 1, 1)
    [refused] = await all_issues(api, body["id"])
    assert (refused["line"], refused["household_ref"], refused["field"]) == (5, "XN2", "id_number")
    assert "文本" in refused["message"] and family[1]["id_number"] not in json.dumps(refused)


async def test_all_or_nothing_imports_nothing_while_a_row_is_refused(api, db) -> None:
    bad = household("E2")
    bad[0]["monthly_amount"] = "五百"
    validated = await dry_run(api, roll(household("E1"), bad), all_or_nothing=True)
    assert validated["all_or_nothing"] is True and validated["report"]["rows_refused"] == 1
    r = await api("intake").post(f"/roll-imports/{validated['id']}/commit", headers=ADMIN)
    problem(r, 409, "all_or_nothing")
    async with db.connect() as conn:
        created = await conn.scalar(
            text(
                "SELECT count(*) FROM intake.households x JOIN intake.roll_import_households h "
                "ON h.household_id = x.id WHERE h.import_id = :id"
            ),
            {"id": validated["id"]},
        )
    assert created == 0


# The import's job in a process of its own, as the intake worker runs it (chunks of two households).
_IMPORTER = """
import asyncio, os, sys, uuid
from services.intake.config import Settings
from services.intake.models import platform
from services.intake.roll_import import job
from shared.db import create_engine, session_factory
from shared.uow import UnitOfWork

units = session_factory(create_engine(os.environ["DATABASE_URL"], 2))
asyncio.run(job.run_import(lambda: UnitOfWork(units, platform, "/services/intake"), uuid.UUID(sys.argv[1]),
                           Settings(roll_import_chunk=2)))
"""


async def test_an_import_killed_mid_commit_resumes_from_its_last_chunk(api, db) -> None:
    validated = await dry_run(api, roll(*(household(f"F{i}", members=1, amount="500.00") for i in range(5))))
    import_id = uuid.UUID(validated["id"])
    units = session_factory(db)

    def uow() -> UnitOfWork:
        return UnitOfWork(units, platform, "/services/intake")

    settings = Settings(roll_import_chunk=2)

    async with uow() as unit:
        await service.start_import(unit, Principal("admin-wuqi", frozenset({"admin"}), "610626"), import_id)
        await unit.commit()
    # The first chunk: a committed step, as the import's job takes it.
    assert await Job(uow).step(lambda unit: service.commit_step(unit, import_id, 2, settings))

    # The second chunk is held at its first household insert (another transaction holds the households table),
    # and the importing process is SIGKILLed there: its chunk was never committed.
    async with db.connect() as holder:
        await holder.execute(text("LOCK TABLE intake.households IN EXCLUSIVE MODE"))
        importer = await asyncio.create_subprocess_exec(sys.executable, "-c", _IMPORTER, str(import_id), cwd=REPO)

        async def blocked_backend() -> int | None:
            async with db.connect() as conn:
                return (
                    await conn.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query ILIKE '%INSERT INTO intake.households%'"
                        )
                    )
                ).scalar()

        backend = await wait_for(blocked_backend, timeout=60)
        importer.send_signal(signal.SIGKILL)
        await importer.wait()
        await holder.rollback()

    async def gone() -> bool:  # its backend finds its client gone and rolls the chunk back
        async with db.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend})
            return found.scalar() is None

    await wait_for(gone, timeout=30)
    half = (await api("intake").get(f"/roll-imports/{import_id}", headers=ADMIN)).json()
    assert half["status"] == "importing" and half["progress"]["done"] == 2

    assert await job.commit_pending(uow, settings) == 2  # the worker's round: the two chunks left
    done = (await api("intake").get(f"/roll-imports/{import_id}", headers=ADMIN)).json()
    assert done["status"] == "imported" and done["report"]["households_imported"] == 5
    imported = await events(db, str(import_id), "application.imported")
    assert sorted(e["household_id"] for e in imported) == sorted({e["household_id"] for e in imported})
    assert len(imported) == 5 and {e["monthly_amount_fen"] for e in imported} == {50_000}


@pytest.mark.parametrize(
    ("data", "files", "status", "field"),
    [
        ({"paid_through": "2026-13"}, True, 422, "paid_through"),
        ({"paid_through": "2099-01"}, True, 422, "paid_through"),
        ({}, True, 422, "paid_through"),
        ({"paid_through": "2026-11"}, False, 422, "file"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_field(api, data, files, status, field) -> None:
    kwargs = {"files": {"file": ("roll.csv", roll(household("G1")), "text/csv")}} if files else {}
    r = await api("intake").post("/roll-imports", data=data, headers=ADMIN, **kwargs)
    problem(r, status, field)


async def test_a_file_that_is_not_the_template_is_refused_and_nothing_is_kept(api, db) -> None:
    r = await upload(api, "户编号,姓名\nX,王\n".encode())
    problem(r, 422, "header")
    r = await upload(api, b"")
    problem(r, 422, "file")


async def test_only_a_county_admin_within_its_region_imports(api, tokens) -> None:
    r = await upload(api, roll(household("H1")), headers=tokens["clerk"])
    assert r.status_code == 403
    other = bearer("admin-zhidan", ["admin"], "610625")
    r = await upload(api, roll(household("H2")), headers=other)  # its rows lie in 吴起县: refused row by row
    body = await settled(api, r.json()["id"], ("validated", "failed"), other)
    assert body["region_code"] == "610625" and body["report"]["households_refused"] == 1
    r = await api("intake").get(f"/roll-imports/{body['id']}", headers=ADMIN)
    assert r.status_code == 404  # another county's import is not shown


def test_no_server_errors_on_the_roll_import_endpoints(infra) -> None:
    """Whatever an admin sends to /roll-imports: never a 5xx, only documented answers (schemathesis)."""
    import schemathesis

    from services.intake.api import build
    from tests.conformance import fuzz

    schema = schemathesis.openapi.from_asgi("/openapi.json", build(Settings())).include(path_regex="^/roll-imports")
    run = fuzz(schema, ADMIN, examples=25, path_values={"import_id": str(uuid.uuid4())})
    assert sum(run.statuses.values()) > 100, run.statuses
    assert not run.failures, run.report()


async def test_the_filled_in_xlsx_template_is_read_like_the_csv(api) -> None:
    r = await api("intake").get("/roll-imports/template", headers=ADMIN)
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["花名册"]
    header = [c.value for c in sheet[1]]
    keys = {title: key for key, title in TITLES.items()}
    for row in household("X1", members=3, amount="1500.00"):
        sheet.append([row.get(keys.get(title), "") for title in header])
    out = io.BytesIO()
    book.save(out)
    r = await api("intake").post(
        "/roll-imports",
        files={"file": ("吴起县.xlsx", out.getvalue(), "application/octet-stream")},
        data={"paid_through": "2026-11"},
        headers=ADMIN,
    )
    assert r.status_code == 202, r.text
    body = await settled(api, r.json()["id"], ("validated", "failed"))
    assert body["format"] == "xlsx" and body["status"] == "validated", body
    assert body["report"]["by_programme"] == {"dibao": {"households": 1, "persons": 3, "monthly_amount_fen": 150_000}}
    assert body["report"]["amount_differs"] == 0  # three persons without income: 500 × 3


# --- retention: the staging of an import unchanged for INTAKE_ROLL_IMPORT_RETENTION_DAYS -------------------------

STAGED = {"rows": "roll_import_rows", "households": "roll_import_households", "issues": "roll_import_issues"}
NOTHING_STAGED = {"rows": 0, "households": 0, "issues": 0}


def intake_units(db):
    sessions = session_factory(db)
    return lambda: UnitOfWork(sessions, platform, "/services/intake")


async def staged(db, import_id: str) -> dict[str, int]:
    counts = ", ".join(f"(SELECT count(*) FROM intake.{t} WHERE import_id = :id) AS {k}" for k, t in STAGED.items())
    async with db.connect() as conn:
        return dict((await conn.execute(text(f"SELECT {counts}"), {"id": import_id})).mappings().one())


async def age(db, days: int, *import_ids: str) -> None:
    """The imports' last change `days` ago."""
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE intake.roll_imports SET updated_at = now() - make_interval(days => :days) WHERE id = :id"),
            [{"days": days, "id": i} for i in import_ids],
        )


async def read_import(api, import_id: str) -> dict:
    r = await api("intake").get(f"/roll-imports/{import_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_staging_of_imports_unchanged_past_the_retention_is_purged_and_the_imports_kept(api, db) -> None:
    settings = Settings()
    days = settings.roll_import_retention_days
    units = intake_units(db)
    refused = household("P2")
    refused[0]["monthly_amount"] = "五百"
    imported_file = roll(household("P1"), refused)
    imported = (await dry_run(api, imported_file))["id"]
    await commit(api, imported)  # its rows dropped already; its households and report line left
    abandoned_file = roll(household("P3"), household("P4", members=1, amount="520.00", income="150.00"))
    abandoned = (await dry_run(api, abandoned_file))["id"]  # validated, never committed
    stuck = (await dry_run(api, roll(household("P5"))))["id"]
    async with db.begin() as conn:  # as a dry run whose process died before it ended
        await conn.execute(text("UPDATE intake.roll_imports SET status = 'validating' WHERE id = :id"), {"id": stuck})
    importing = (await dry_run(api, roll(household("P6"))))["id"]
    async with units() as unit:  # committed, its chunks not run yet (as when the worker is down)
        await service.start_import(unit, Principal("admin-wuqi", frozenset({"admin"}), "610626"), uuid.UUID(importing))
        await unit.commit()
    recent = (await dry_run(api, roll(household("P7"))))["id"]
    ours = {imported, abandoned, stuck, importing, recent}
    before = {i: await staged(db, i) for i in ours}
    shown = {i: await read_import(api, i) for i in ours}
    assert before[imported] == {"rows": 0, "households": 2, "issues": 1}
    assert before[abandoned] == {"rows": 3, "households": 2, "issues": 1}
    assert before[stuck]["rows"] == before[importing]["rows"] == before[recent]["rows"] == 2
    await age(db, days + 1, imported, abandoned, stuck, importing)
    await age(db, days - 1, recent)

    purged = {str(p.import_id): p for p in await job.purge_expired(units, settings)}
    expired = {imported, abandoned, stuck}
    assert set(purged) & ours == expired
    for i in expired:
        assert purged[i].counts == before[i] and await staged(db, i) == NOTHING_STAGED
        now = await read_import(api, i)
        assert now["purged_at"] is not None and shown[i]["purged_at"] is None
        kept = ("id", "status", "sha256", "report", "progress", "paid_through", "created_at")
        assert {k: now[k] for k in kept} == {k: shown[i][k] for k in kept}
    assert {purged[i].status for i in expired} == {"imported", "validated", "validating"}
    for i in (importing, recent):  # `importing` is the worker's, whatever its age; `recent` is within the period
        assert await staged(db, i) == before[i] and (await read_import(api, i))["purged_at"] is None

    async with db.connect() as conn:
        audited = {
            r.resource_id: r
            for r in await conn.execute(
                text(
                    "SELECT resource_id, actor, region_code, details FROM intake.audit_log "
                    "WHERE action = 'roll_import.purge' AND resource_id = ANY(:ids)"
                ),
                {"ids": sorted(ours)},
            )
        }
    assert set(audited) == expired
    for i in expired:
        details = audited[i].details
        assert (audited[i].actor, audited[i].region_code) == ("intake", "610626")
        assert set(details) == {"rows", "households", "issues", "status", "unchanged_since", "retention_days"}
        assert {k: details[k] for k in STAGED} == before[i] and details["retention_days"] == days
        assert details["status"] == purged[i].status
        assert datetime.fromisoformat(details["unchanged_since"]) < datetime.now(UTC) - timedelta(days=days)
    assert not {str(p.import_id) for p in await job.purge_expired(units, settings)} & ours  # once is enough

    r = await api("intake").get(f"/roll-imports/{abandoned}/issues", headers=ADMIN)
    assert "upload the same file again" in problem(r, 409, "purged_at")["detail"]
    r = await api("intake").get(f"/roll-imports/{imported}/issues", headers=ADMIN)
    assert "counts stay" in problem(r, 409, "purged_at")["detail"]
    r = await api("intake").post(f"/roll-imports/{abandoned}/commit", headers=ADMIN)
    problem(r, 409, "purged_at")
    r = await api("intake").post(f"/roll-imports/{imported}/commit", headers=ADMIN)
    assert r.status_code == 202 and r.json()["status"] == "imported", r.text  # ran: answered as it is

    # The same files again are the same imports: the imported one as it is, the other staged anew.
    r = await upload(api, imported_file)
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true", r.text
    assert r.json()["id"] == imported and r.json()["purged_at"] is not None and r.json()["status"] == "imported"
    assert await staged(db, imported) == NOTHING_STAGED
    r = await upload(api, abandoned_file)
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true", r.text
    assert r.json()["id"] == abandoned and r.json()["purged_at"] is None
    again = await settled(api, abandoned, ("validated", "failed"))
    assert again["status"] == "validated" and again["report"] == shown[abandoned]["report"]
    assert await staged(db, abandoned) == before[abandoned]
    assert [i["household_ref"] for i in await all_issues(api, abandoned)] == ["P4"]

    # The import left `importing` run to its end, so no other test's worker round finds it.
    await job.run_import(units, uuid.UUID(importing), settings)
    assert (await read_import(api, importing))["status"] == "imported"


async def test_the_intake_workers_roll_import_task_purges_each_round(api, db) -> None:
    settings = Settings(roll_import_poll_seconds=0.2)
    validated = (await dry_run(api, roll(household("Q1"))))["id"]
    await age(db, settings.roll_import_retention_days + 1, validated)
    stop = asyncio.Event()
    worker = asyncio.create_task(job.roll_importer(settings)(intake_units(db), stop))
    try:

        async def purged() -> dict | None:
            body = await read_import(api, validated)
            return body if body["purged_at"] else None

        await wait_for(purged, timeout=30)
    finally:
        stop.set()
        await worker
    assert await staged(db, validated) == NOTHING_STAGED


class _DownAfter(httpx.AsyncBaseTransport):
    """Eligibility answering `calls` requests, then unreachable."""

    def __init__(self, inner: httpx.AsyncBaseTransport, calls: int) -> None:
        self.inner, self.calls = inner, calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls -= 1
        if self.calls < 0:
            raise httpx.ConnectError("eligibility is down")
        return await self.inner.handle_async_request(request)


async def test_a_dry_run_that_stopped_is_taken_up_from_its_last_chunk_without_the_file(api, db) -> None:
    intake_app = importlib.import_module("services.intake.api").app
    eligibility_app = importlib.import_module("services.eligibility.api").app
    real = httpx.ASGITransport(app=eligibility_app)
    small = intake_app.state.settings.model_copy(update={"roll_import_chunk": 2})
    intake_app.dependency_overrides[app_settings] = lambda: small
    intake_app.dependency_overrides[eligibility_transport] = lambda: _DownAfter(real, calls=1)
    try:
        r = await upload(api, roll(*(household(f"R{i}", members=1, amount="400.00") for i in range(5))))
        assert r.status_code == 202, r.text
        import_id = r.json()["id"]
        stopped = await settled(api, import_id, ("validated", "failed"))
        # The first chunk (2 households) priced and committed; the second found eligibility down.
        assert (stopped["status"], stopped["progress"]["done"]) == ("failed", 2), stopped
        assert "eligibility could not be reached" in stopped["error"]

        intake_app.dependency_overrides[eligibility_transport] = lambda: real
        r = await api("intake").post(f"/roll-imports/{import_id}/dry-run", headers=ADMIN)
        assert r.status_code == 202 and r.json()["status"] == "validating", r.text
        done = await settled(api, import_id, ("validated", "failed"))
    finally:
        intake_app.dependency_overrides.pop(app_settings, None)
        intake_app.dependency_overrides[eligibility_transport] = lambda: real
    assert done["status"] == "validated", done
    assert (done["report"]["households"], done["report"]["households_to_create"]) == (5, 5), done["report"]
    async with db.connect() as conn:
        resumed = (
            await conn.execute(
                text(
                    "SELECT details FROM intake.audit_log WHERE action = 'roll_import.dry_run.resumed' "
                    "AND resource_id = :id"
                ),
                {"id": import_id},
            )
        ).scalar_one()
        priced = (
            await conn.execute(
                text(
                    "SELECT sum((details->>'households')::int) FROM intake.audit_log "
                    "WHERE action = 'roll_import.assess' AND resource_id = :id"
                ),
                {"id": import_id},
            )
        ).scalar_one()
    assert resumed == {"from_household": 2, "was": "failed"}
    assert priced == 5  # each household priced once: the first chunk was not priced again

    # Over once validated; unknown to another county's admin.
    again = await api("intake").post(f"/roll-imports/{import_id}/dry-run", headers=ADMIN)
    problem(again, 409, "status")
    other = bearer("admin-zhidan", ["admin"], "610625")
    assert (await api("intake").post(f"/roll-imports/{import_id}/dry-run", headers=other)).status_code == 404
