"""The bank file and the 花名册 (services/payments/batches/files.py) write names as text: payees whose holder and bank
names are formula payloads (as an old record or a bad event could still carry them; the front desk refuses them
now) are written with the apostrophe in the CSV and as string cells in the roster, read back from what the API
serves. The roster names each household's village as its county loaded it."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import text

from services.payments.batches.files import BANK_COLUMNS
from shared.core.period import Period
from tests.conftest import bearer
from tests.helpers import villages_loaded
from tests.payments_kit import PaymentsKit, township, village
from tests.spreadsheet_kit import FORMULA_PAYLOADS, csv_cells, written_as_text, xlsx_texts

P = Period(2026, 5)
OTHER_FINANCE = bearer("finance-wuqi-2", ["finance"], "610626")


@pytest.fixture(scope="module")
async def kit(db) -> PaymentsKit:
    return PaymentsKit(db)


async def test_bank_file_and_roster_write_formula_payloads_as_text(api, tokens, kit):
    region = village()
    for i, payload in enumerate(FORMULA_PAYLOADS):
        _, household = await kit.approve(region, 50_000 + i, P, account=None)
        await kit.payee(household, region, f"62170000{i:011d}", holder=payload, bank=FORMULA_PAYLOADS[-1 - i])
    pay = api("payments")
    batch = await kit.exported(pay, region, P, tokens["finance"], OTHER_FINANCE)

    for encoding in ("utf-8", "gbk"):
        r = await pay.get(f"/batches/{batch}/bank-file", params={"encoding": encoding}, headers=tokens["finance"])
        assert r.status_code == 200, r.text
        cells = csv_cells(r.content, encoding)
        assert cells[: len(BANK_COLUMNS)] == list(BANK_COLUMNS)
        data = cells[len(BANK_COLUMNS) :]
        # Every payload, as holder and as bank name, is there with its apostrophe; no cell starts a formula.
        assert all(data.count(written_as_text(p)) == 2 for p in FORMULA_PAYLOADS), data
        assert not [c for c in data if c and c[0] in "=+-@\t\r＝"]

    r = await pay.get(f"/batches/{batch}/roster", params={"township": region[:9]}, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    texts = xlsx_texts(r.content)  # also: no formula and no link anywhere in the workbook
    assert all(texts.get(p) == "s" for p in FORMULA_PAYLOADS), texts


async def test_the_roster_names_each_village_as_its_county_loaded_it(api, tokens, kit, db):
    """The division tables stop at townships: a village whose name the county loaded at intake (villages.loaded)
    is named in the 花名册, one not loaded yet by its number."""
    town = township()
    named, unnamed = f"{town}201", f"{town}202"
    await villages_loaded(db, {named: "张湾村"})
    await kit.approve(named, 60_000, P)
    await kit.approve(unnamed, 70_000, P)
    pay = api("payments")
    batch = await kit.exported(pay, town, P, tokens["finance"], OTHER_FINANCE)

    r = await pay.get(f"/batches/{batch}/roster", params={"township": town}, headers=tokens["finance"])
    assert r.status_code == 200, r.text
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    assert rows[2][:4] == ("序号", "行政区划代码", "村(社区)", "户名(领款人)")
    lines = {(row[1], row[2], row[9]) for row in rows[3:] if isinstance(row[0], int)}
    assert lines == {(named, "张湾村", 600.0), (unnamed, "202村", 700.0)}


async def test_reading_the_bank_file_audits_each_household_it_pays(api, tokens, kit, db):
    """The bank file opens every payee's full account: its read is audited once for each household it pays (in one
    statement), naming the household and its region, not only the batch; the roster likewise for its township."""
    region = village()
    households = {(await kit.approve(region, 40_000 + i, P))[1] for i in range(3)}
    pay = api("payments")
    batch = await kit.exported(pay, region, P, tokens["finance"], OTHER_FINANCE)
    reader = bearer("finance-reads-files", ["finance"], "610626")
    assert (await pay.get(f"/batches/{batch}/bank-file", headers=reader)).status_code == 200
    assert (
        await pay.get(f"/batches/{batch}/roster", params={"township": region[:9]}, headers=reader)
    ).status_code == 200
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT action, resource_id, household_id, region_code FROM payments.audit_log "
                    "WHERE actor = 'finance-reads-files'"
                )
            )
        ).all()
    for action in ("batch.bank_file", "batch.roster"):
        mine = [r for r in rows if r.action == action]
        assert sorted(r.household_id for r in mine) == sorted(households), action
        assert {(r.resource_id, r.region_code) for r in mine} == {(batch, region)}, action


async def test_an_admin_neither_makes_a_batch_reads_its_bank_file_nor_approves_it(api, tokens, kit):
    """三员分立: a system administrator sees no account numbers and approves no money; two admins do not make the
    two-person rule (双人复核). Finance officers do both, the approver another officer than the batch's maker."""
    region = village()
    await kit.approve(region, 45_000, P)
    pay = api("payments")
    county_admin, other_admin = bearer("admin-wuqi", ["admin"], "610626"), bearer("admin-2", ["admin"], "610626")
    # Nor makes one: an admin's batch would need one finance officer's approval alone.
    for admin in (tokens["admin"], county_admin):
        r = await pay.post("/batches", json={"region_code": region, "period": str(P)}, headers=admin)
        assert r.status_code == 403, r.text
    r = await pay.post("/batches", json={"region_code": region, "period": str(P)}, headers=tokens["finance"])
    assert r.status_code == 202, r.text
    batch = r.json()["id"]
    await kit.build()
    for admin in (tokens["admin"], county_admin, other_admin):
        assert (await pay.post(f"/batches/{batch}/approve", headers=admin)).status_code == 403
    assert (await pay.post(f"/batches/{batch}/approve", headers=tokens["finance"])).status_code == 403  # its maker
    assert (await pay.post(f"/batches/{batch}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch}/export", headers=tokens["finance"])).status_code == 200
    for admin in (tokens["admin"], county_admin):
        assert (await pay.get(f"/batches/{batch}/bank-file", headers=admin)).status_code == 403
    assert (await pay.get(f"/batches/{batch}/bank-file", headers=OTHER_FINANCE)).status_code == 200
