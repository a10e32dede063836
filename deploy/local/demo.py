"""Demo data for `make run`: the villages its households live in, households of 吴起县 (610626) like those in its
2023 report with their bank accounts, their applications, and one county approval so every service has something
to show (a batch of the approved household's township pays it, its 花名册 names its village). Safe to run
twice (it skips what exists).

    python -m deploy.local.demo http://127.0.0.1:8001 http://127.0.0.1:8002 http://127.0.0.1:8003 ...
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import httpx

from shared.auth import mint_token
from shared.core.identity import check_character
from shared.core.period import china_today


def _id(first17: str) -> str:
    return first17 + check_character(first17)


def _bearer(sub: str, roles: list[str], region: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(sub, roles, region)}


def _account(holder: str, last4: str) -> dict[str, str]:
    """A made-up 社保卡 account at the county's rural commercial bank, so the demo's batches have someone to pay."""
    return {"bank_name": "吴起农村商业银行", "account_holder": holder, "account_number": f"622848000000000{last4}"}


# Received three weeks before this month began (entered from paper): the first case runs its 7-day public notice
# and is decided last month, so it is paid from this month whatever today's date (decided 7 days ago, it was paid
# from next month from the 8th on, and this month's batch had nothing for it).
RECEIVED = china_today().replace(day=1) - timedelta(days=21)

# (township clerk region, household, programmes)
DEMO = [
    (
        "610626101",
        {
            "region_code": "610626101201",
            "hukou_type": "rural",
            "address": "吴起县铁边城镇张湾村",
            "members": [
                {
                    "name": "刘志明",
                    "id_number": _id("61062619620415001"),
                    "relation": "head",
                    "labour_capacity": "partial",
                    "serious_illness": True,
                },
                {
                    "name": "高桂芳",
                    "id_number": _id("61062619650802002"),
                    "relation": "spouse",
                    "labour_capacity": "partial",
                },
                {"name": "刘小军", "id_number": _id("61062620100903003"), "relation": "child", "student": True},
            ],
            "incomes": [
                {"earner": 1, "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000},
                {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
            ],
            "properties": [{"kind": "housing", "value_fen": 6_000_000, "description": "自建窑洞一处"}],
            "rigid_expenses": [{"kind": "medical", "amount_fen_12m": 1_850_000, "description": "慢性病门诊自付"}],
            "bank_account": _account("刘志明", "1111"),
        },
        ["dibao"],
    ),
    (
        "610626102",
        {
            "region_code": "610626102203",
            "hukou_type": "rural",
            "address": "吴起县周湾镇水湾村",
            "members": [
                {
                    "name": "马占山",
                    "id_number": _id("61062619460120001"),
                    "relation": "head",
                    "labour_capacity": "none",
                    "has_capable_supporter": False,
                    "self_care": {"bathing": False, "indoor_walking": False},
                }
            ],
            "bank_account": _account("马占山", "2222"),
        },
        ["tekun"],
    ),
    (
        "610626001",
        {
            "region_code": "610626001002",
            "hukou_type": "urban",
            "address": "吴起县吴起街道胜利社区",
            "members": [
                {"name": "杨文华", "id_number": _id("61062619780611003"), "relation": "head", "employed": True},
                {
                    "name": "杨丽",
                    "id_number": _id("61062620050217004"),
                    "relation": "child",
                    "disability_category": "intellectual",
                    "disability_grade": 2,
                    "labour_capacity": "none",
                },
            ],
            "incomes": [{"earner": 0, "kind": "wages", "subkind": "salary", "monthly_amount_fen": 90_000}],
            "bank_account": _account("杨文华", "3333"),
        },
        ["dibao", "disability_care"],
    ),
]


# The villages of the demo households, as the county admin loads them (统计用区划代码, 城乡分类代码). Only these are
# loaded, so those three townships accept only these codes; a real county loads the bureau's whole table.
VILLAGES = """code,name,urban_rural_class
610626001002,胜利社区,111
610626101201,张湾村,220
610626102203,水湾村,220
"""


async def load(intake: str, eligibility: str) -> None:
    approver = _bearer("demo-approver", ["county_approver"], "610626")
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.put(
            f"{intake}/regions/610626/villages",
            headers=_bearer("demo-admin", ["admin"], "610626"),
            files={"file": ("610626.csv", VILLAGES.encode(), "text/csv")},
        )
        r.raise_for_status()
        print(f"demo: loaded {r.json()['villages']} villages of 吴起县")
        applications: list[str] = []
        for township, household, programmes in DEMO:
            clerk = _bearer(f"demo-clerk-{township}", ["clerk"], township)
            r = await http.post(f"{intake}/households", json=household, headers=clerk)
            if r.status_code == 409:
                print(f"demo: {household['address']} already loaded")
                continue
            r.raise_for_status()
            for programme in programmes:
                a = await http.post(
                    f"{intake}/applications",
                    headers=clerk,
                    json={
                        "household_id": r.json()["id"],
                        "programme": programme,
                        "consent_signed": True,
                        "received_on": RECEIVED.isoformat(),
                    },
                )
                a.raise_for_status()
                applications.append(a.json()["id"])
            print(f"demo: registered {household['address']} and applied for {', '.join(programmes)}")
        if not applications:
            return
        # Take the first case through the whole procedure so payments has a beneficiary to show.
        for _ in range(100):
            app = (await http.get(f"{intake}/applications/{applications[0]}", headers=approver)).json()
            if app.get("case_id"):
                await _through_procedure(http, eligibility, app["case_id"], approver)
                return
            await asyncio.sleep(0.3)
        print("demo: eligibility has not opened the case yet; take its steps later through /docs")


async def _through_procedure(http: httpx.AsyncClient, eligibility: str, case_id: str, approver: dict[str, str]) -> None:
    clerk = _bearer("demo-clerk-610626101", ["clerk"], "610626101")
    reviewer = _bearer("demo-reviewer-610626101", ["township_reviewer"], "610626101")
    steps = [
        (clerk, "investigation", {"on": _day(1)}),
        (
            clerk,
            "home-visits",
            {
                "on": _day(2),
                "investigators": ["张强", "李娜"],
                "findings": "窑洞一孔，家中无大件家电，户主慢性病，与申报一致",
            },
        ),
        (reviewer, "economic-check", {"on": _day(3), "result": "consistent"}),
        (
            reviewer,
            "township-opinion",
            {"on": _day(4), "recommendation": "approve", "opinion": "符合农村低保条件，建议纳入"},
        ),
        (reviewer, "appraisal", {"on": _day(5), "result": "agreed", "participants": 11, "opinion": "一致同意"}),
        (reviewer, "notice/close", {"on": _day(13)}),
        (
            approver,
            "decision",
            {"on": _day(14), "decision": "approve", "opinion": "经入户调查、民主评议和公示无异议，同意纳入农村低保"},
        ),
    ]
    for headers, path, body in steps:
        r = await http.post(f"{eligibility}/cases/{case_id}/{path}", json=body, headers=headers)
        if r.status_code != 200:
            print(f"demo: step {path} → {r.status_code} {r.text[:200]}")
            return
    print(f"demo: first case approved at {r.json()['monthly_amount_fen'] / 100:.2f} yuan a month")


def _day(n: int) -> str:
    return (RECEIVED + timedelta(days=n)).isoformat()


if __name__ == "__main__":
    asyncio.run(load(sys.argv[1], sys.argv[2]))
