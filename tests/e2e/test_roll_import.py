"""存量对象导入 with every service as a process, on real PostgreSQL and Kafka (issue 18's done-when).

A county admin uploads its current recipients (GBK CSV, as the old system exports them), reads the dry run's
report, imports; the households reach intake, the cases eligibility (approved, one step `imported`), the roll
and payees payments. The first regular batch after the import pays exactly the file's amounts to the file's
accounts, once per household, and the month's statistics equal the file's totals (户, 人, 元). The months the old
system paid are not paid again."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

from shared.core.period import Period, china_today
from tests.conftest import bearer, wait_for
from tests.helpers import resident_id
from tests.payments_kit import bank_rows, return_file

ADMIN = bearer("admin-wuqi", ["admin"], "610626")
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")
HEADER = [
    "户编号",
    "村(社区)代码",
    "户籍性质",
    "地址",
    "姓名",
    "公民身份号码",
    "与户主关系",
    "劳动能力",
    "是否保障对象",
    "月收入(元)",
    "保障类别",
    "供养方式",
    "审批日期",
    "月保障金(元)",
    "保障人数",
    "开户银行",
    "账户名",
    "银行账号",
]


def _roll(village: str) -> tuple[bytes, dict[str, dict], str]:
    """The file and, per household, what it says is paid today (worked out here, not by the code under test)."""
    this_month = Period.of(china_today())
    account = f"62170000{random.randint(10**9, 10**10 - 1)}"
    # (ref, hukou, programme, arrangement, approved, yuan, persons, members: (name, relation, labour, covered, income))
    households = [
        (
            "H001",
            "城镇",
            "低保",
            "",
            "2024-02-15",
            "1360.00",
            2,
            [("王秀英", "户主", "无劳动能力", "是", "0"), ("王小明", "子女", "无劳动能力", "是", "0")],
        ),
        ("H002", "农村", "特困", "分散", "2023-05-10", "615.50", 1, [("张德福", "户主", "无劳动能力", "是", "")]),
        (
            "H003",
            "农村",
            "低保",
            "",
            "2025-09-01",
            "1140.00",
            3,
            [
                ("李建国", "户主", "部分丧失劳动能力", "是", "200"),
                ("赵桂兰", "配偶", "无劳动能力", "是", "0"),
                ("李强", "子女", "无劳动能力", "是", "0"),
            ],
        ),
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    expected: dict[str, dict] = {}
    for n, (ref, hukou, programme, arrangement, approved, yuan, persons, members) in enumerate(households):
        number = f"{account}{n}"
        holder = members[0][0]
        for name, relation, labour, covered, income in members:
            birth = "19500101" if relation == "户主" else "19800101"
            writer.writerow(
                [
                    ref,
                    village,
                    hukou,
                    f"吴起县{ref}号",
                    name,
                    resident_id(birth, True),
                    relation,
                    labour,
                    covered,
                    income,
                    programme,
                    arrangement,
                    approved,
                    yuan,
                    persons,
                    "吴起农村商业银行",
                    holder,
                    number,
                ]
            )
        expected[ref] = {"fen": int(yuan.replace(".", "")), "persons": persons, "account": number, "holder": holder}
    # A household the dry run refuses: its head's ID number fails the GB 11643 check character.
    bad = resident_id("19600101", True)
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    writer.writerow(
        [
            "H004",
            village,
            "农村",
            "吴起县H004号",
            "刘志强",
            bad,
            "户主",
            "无劳动能力",
            "是",
            "0",
            "低保",
            "",
            "2024-01-01",
            "500.00",
            1,
            "吴起农村商业银行",
            "刘志强",
            f"{account}9",
        ]
    )
    assert this_month.first_day > date(2025, 10, 1)
    return out.getvalue().encode("gbk"), expected, bad


async def test_a_countys_roll_comes_in_from_its_file_and_its_first_batch_pays_the_files_amounts(stack, http, tokens):
    intake, payments = stack.url("intake"), stack.url("payments")
    village = f"610626103{random.randint(200, 399)}"  # a 村委会 of 白豹镇 of its own
    content, expected, bad_id = _roll(village)
    month = Period.of(china_today())
    paid_through = month.plus(-1)

    r = await http.post(
        f"{intake}/roll-imports",
        headers=ADMIN,
        files={"file": ("吴起县存量对象.csv", content, "text/csv")},
        data={"paid_through": str(paid_through)},
    )
    assert r.status_code == 202, r.text
    import_id = r.json()["id"]

    async def state(wanted: str) -> dict | None:
        body = (await http.get(f"{intake}/roll-imports/{import_id}", headers=ADMIN)).json()
        assert body["status"] != "failed", body
        return body if body["status"] == wanted else None

    validated = await wait_for(lambda: state("validated"), timeout=60)
    report = validated["report"]
    assert (report["households_to_create"], report["households_refused"], report["rows_refused"]) == (3, 1, 1)
    assert report["members_to_create"] == 6
    dibao, tekun = report["by_programme"]["dibao"], report["by_programme"]["tekun"]
    assert (dibao["households"], dibao["persons"], dibao["monthly_amount_fen"]) == (2, 5, 136_000 + 114_000)
    assert (tekun["households"], tekun["persons"], tekun["monthly_amount_fen"]) == (1, 1, 61_550)
    issues = await http.get(f"{intake}/roll-imports/{import_id}/issues?kind=refused", headers=ADMIN)
    [refused] = issues.json()["items"]
    assert (refused["household_ref"], refused["field"]) == ("H004", "id_number")
    assert refused["line"] == 8  # the header is line 1; H004's row follows the other six
    assert bad_id[:17] not in issues.text  # the report names the field, never the number

    # The same file again is the same import, never a second one.
    again = await http.post(
        f"{intake}/roll-imports",
        headers=ADMIN,
        files={"file": ("again.csv", content, "text/csv")},
        data={"paid_through": str(paid_through)},
    )
    assert again.status_code == 200 and again.json()["id"] == import_id

    r = await http.post(f"{intake}/roll-imports/{import_id}/commit", headers=ADMIN)
    assert r.status_code == 202, r.text
    imported = await wait_for(lambda: state("imported"), timeout=60)
    assert imported["report"]["households_imported"] == 3

    # Every service's read model agrees: on payments' roll at the file's amounts, with their payees.
    async def on_roll() -> list | None:
        r = await http.get(f"{payments}/beneficiaries", params={"region": village}, headers=tokens["finance"])
        items = r.json()["items"]
        return items if len(items) == 3 else None

    roll = await wait_for(on_roll, timeout=60)
    assert sorted(b["monthly_amount_fen"] for b in roll) == sorted(e["fen"] for e in expected.values())

    async def first_batch() -> dict | None:
        r = await http.post(
            f"{payments}/batches",
            json={"region_code": village, "period": str(month), "kind": "regular"},
            headers=tokens["finance"],
        )
        assert r.status_code in (200, 202), r.text

        async def built() -> dict | None:
            b = (await http.get(f"{payments}/batches/{r.json()['id']}", headers=tokens["finance"])).json()
            return b if b["status"] == "built" else None

        batch = await wait_for(built)
        if batch["line_count"] == 3 and batch["reconciliation"]["failed_count"] == 0:
            return batch
        # A payee still on its way (intake → Kafka → payments): cancel and build again.
        await http.post(
            f"{payments}/batches/{batch['id']}/cancel", json={"reason": "payee in flight"}, headers=tokens["finance"]
        )
        return None

    batch = await wait_for(first_batch, timeout=60, interval=1)
    assert batch["total_fen"] == sum(e["fen"] for e in expected.values())
    bid = batch["id"]
    assert (await http.post(f"{payments}/batches/{bid}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await http.post(f"{payments}/batches/{bid}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await http.get(f"{payments}/batches/{bid}/bank-file", headers=tokens["finance"])).content)
    # Exactly the file's amounts to the file's accounts, one line each: the old system's months are not paid again.
    assert sorted((r["account_number"], int(r["amount_yuan"].replace(".", ""))) for r in rows) == sorted(
        (e["account"], e["fen"]) for e in expected.values()
    )
    assert sorted(r["account_holder"] for r in rows) == sorted(e["holder"] for e in expected.values())
    r = await http.post(
        f"{payments}/batches/{bid}/returns",
        headers=tokens["finance"],
        files={"file": ("return.csv", return_file([(x["payment_id"], x["amount_yuan"], "paid", "") for x in rows]))},
    )
    assert r.status_code == 200, r.text

    stats = (
        await http.get(
            f"{payments}/statistics", params={"region": village, "period": str(month)}, headers=tokens["finance"]
        )
    ).json()
    got = {p["programme"]: (p["households"], p["persons"], p["paid_fen"]) for p in stats["programmes"]}
    assert got == {"dibao": (2, 5, 136_000 + 114_000), "tekun": (1, 1, 61_550)}
