"""Digits are ASCII 0-9 wherever input is checked: pydantic-core's regex and Python's `re` both read `\\d` as any
Unicode digit, and `Decimal`, `int` and `uuid.UUID` read full-width (６) and Arabic-Indic (٦) digits as the ASCII
ones — a bank account of full-width digits was sealed and announced to payments, a bank return of １０００.００
settled its line. Through the real apps: tests/integration/test_intake_households.py, test_payments_returns.py,
test_eligibility_long_term_notice.py and test_monitoring_feeds.py."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.intake.households.schemas import BankAccountIn, HouseholdUpdate
from services.intake.roll_import import domain
from services.payments.batches.files import parse_return_row
from shared.core.identity import fingerprinter
from shared.core.period import Period
from shared.core.regions import CODE_PATTERN, RegionTable
from tests.helpers import resident_id

REPO = Path(__file__).resolve().parents[3]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
SCRIPTS = pytest.mark.parametrize("script", [FULL_WIDTH, ARABIC_INDIC, DEVANAGARI], ids=["full-width", "arabic", "dev"])

# The log scrubber (shared/observability.py) masks more, not less, with `\d`.
_NOT_INPUT_CHECKS = {
    ("shared/observability.py", '_RESIDENT_ID = re.compile(r"(?<![0-9])(\\d{6})\\d{8}(\\d{3}[0-9Xx])(?![0-9])")'),
}


def test_no_pattern_that_checks_input_says_backslash_d():
    found = []
    for top in ("services", "shared"):
        for path in sorted((REPO / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if "\\d" in line and not any(
                    path.relative_to(REPO).as_posix() == where and what in line for where, what in _NOT_INPUT_CHECKS
                ):
                    found.append(f"{path.relative_to(REPO)}: {line.strip()}")
    assert found == [], "use [0-9]: \\d takes any script's digits\n" + "\n".join(found)


@SCRIPTS
def test_an_account_number_of_other_digits_is_refused_naming_it(script):
    good = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": "6228480000000000001"}
    assert BankAccountIn.model_validate(good).account_number == good["account_number"]
    with pytest.raises(ValidationError) as err:
        BankAccountIn.model_validate_json(
            json.dumps({**good, "account_number": good["account_number"].translate(script)})
        )
    assert [e["loc"] for e in err.value.errors()] == [("account_number",)]


@SCRIPTS
def test_a_village_code_of_other_digits_is_refused(script):
    with pytest.raises(ValidationError) as err:
        HouseholdUpdate.model_validate({"region_code": "610626101201".translate(script)})
    assert err.value.errors()[0]["loc"] == ("region_code",)


@SCRIPTS
def test_a_bank_returns_amount_of_other_digits_is_refused_naming_row_and_field(script):
    pid = str(uuid.uuid4())
    parsed, errors = parse_return_row(2, [pid, "1000.00", "paid"])
    assert parsed == (uuid.UUID(pid), 100_000, "paid", None) and errors == []
    parsed, errors = parse_return_row(2, [pid, "1000.00".translate(script), "paid"])
    assert parsed is None
    assert [(e["row"], e["field"]) for e in errors] == [("2", "rows[2].amount_yuan")]
    # and the payment id: uuid.UUID reads other digits as the ASCII ones
    parsed, errors = parse_return_row(3, [pid.translate(script), "1000.00", "paid"])
    assert parsed is None and [(e["row"], e["field"]) for e in errors] == [("3", "rows[3].payment_id")]


@pytest.fixture(scope="module")
def ctx() -> domain.RowContext:
    return domain.RowContext(
        regions=RegionTable.load(), scope="610626", today=date(2026, 12, 6), fingerprint=fingerprinter(b"k" * 32)
    )


@SCRIPTS
def test_a_roll_imports_money_and_account_of_other_digits_are_refused_naming_the_column(script, ctx):
    base = {
        "household_ref": "WQ1",
        "region_code": "610626101201",
        "hukou": "农村",
        "address": "铁边城镇一组",
        "name": "王秀英",
        "id_number": resident_id("19560312", False),
        "relation": "户主",
        "covered": "是",
        "programme": "低保",
        "approved_on": "2024-03-15",
        "monthly_amount": "520.50",
        "persons": "1",
        "bank_name": "吴起农村商业银行",
        "account_holder": "王秀英",
        "account_number": "6217000011112222",
    }
    assert domain.parse_row(2, base, ctx).account_number == "6217000011112222"
    for key in ("monthly_amount", "account_number", "monthly_income"):
        value = base.get(key, "150.00")
        with pytest.raises(domain.RowProblem) as problem:
            domain.parse_row(2, {**base, key: value.translate(script)}, ctx)
        assert problem.value.field == key


@SCRIPTS
def test_periods_and_region_codes_of_other_digits_are_refused(script):
    with pytest.raises(ValueError):
        Period.parse("2026-07".translate(script))
    with pytest.raises(ValueError):
        Period.parse("2026-07\n")

    assert re.fullmatch(CODE_PATTERN.strip("^$"), "610626")
    assert not re.fullmatch(CODE_PATTERN.strip("^$"), "610626".translate(script))
