"""The bank file and the 花名册 (services/payments/batches/files.py) write names as text: payees whose holder and bank
names are formula payloads (as an old record or a bad event could still carry them; the front desk refuses them
now) are written with the apostrophe in the CSV and as string cells in the roster, read back from what the API
serves."""

from __future__ import annotations

import pytest

from services.payments.batches.files import BANK_COLUMNS
from shared.core.period import Period
from tests.conftest import bearer
from tests.payments_kit import PaymentsKit, village
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
    r = await pay.post("/batches", json={"region_code": region, "period": str(P)}, headers=tokens["finance"])
    assert r.status_code == 202, r.text
    batch = r.json()["id"]
    await kit.build()
    assert (await pay.post(f"/batches/{batch}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{batch}/export", headers=tokens["finance"])).status_code == 200

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
