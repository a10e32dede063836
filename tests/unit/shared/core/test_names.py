"""Person names (shared/core/names.py): what a Chinese name can hold is accepted and normalised, anything else refused
with a reason — and the pattern the OpenAPI publishes accepts exactly what the validator accepts."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ValidationError

from services.eligibility.cases.schemas import HomeVisitIn
from services.intake.applications.schemas import ApplicationAmend
from services.intake.households.schemas import BankAccountIn, MemberIn, MemberUpdate
from shared.core.names import PATTERN, PersonName
from tests.helpers import resident_id
from tests.spreadsheet_kit import FORMULA_PAYLOADS


class _Form(BaseModel):
    name: PersonName


def _refusal(value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        _Form(name=value)
    [error] = caught.value.errors()
    assert error["loc"] == ("name",)
    return error["msg"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("张三", "张三"),
        ("欧阳小明", "欧阳小明"),
        ("李〇", "李〇"),
        ("𠀀𪚥", "𠀀𪚥"),  # extension B
        ("\U0002b740\U0002ebf0", "\U0002b740\U0002ebf0"),  # extensions D and I
        ("\U00031350", "\U00031350"),  # extension H (tertiary plane)
        ("\uf900", "\uf900"),  # a compatibility ideograph is kept as sent, not folded to its unified twin
        ("买买提·艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),
        ("买买提．艾力", "买买提·艾力"),
        ("阿卜杜热合曼ꞏ买买提明‧艾合买提", "阿卜杜热合曼·买买提明·艾合买提"),
        ("  张三　", "张三"),
        ("Mary-Jane O’Neil", "Mary-Jane O'Neil"),
        ("Zoë Ñúñez", "Zoë Ñúñez"),
        ("Lǚ Xiǎolóng", "Lǚ Xiǎolóng"),
        ("A", "A"),
    ],
)
def test_what_a_name_can_hold_is_accepted_and_normalised(sent, stored):
    assert _Form(name=sent).name == stored
    assert re.fullmatch(PATTERN, sent)


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_formula_payloads_are_refused(payload):
    assert _refusal(payload)
    assert not re.fullmatch(PATTERN, payload)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("=1+1", "cannot start with ="),
        ("＠SUM(1)", "cannot start with"),
        ("-张三", "cannot start with"),
        ("\t张三", "control characters"),
        ("张\x00三", "control characters"),
        ("张三\r\n", "control characters"),
        ("张\u200b三", "cannot hold '\\u200b'"),  # zero-width space
        ("张三1", "cannot hold '1'"),
        ("张三<script>", "cannot hold '<'"),
        ("李\u0301", "cannot hold"),  # a combining mark: send the composed letter
        ("\ue000", "cannot hold"),  # private use
        ("Ｊｏｈｎ", "cannot hold"),  # full-width Latin
        ("张  三", "one at a time"),
        ("·张三", "one at a time"),
        ("张三·", "one at a time"),
        ("O''Neil", "one at a time"),
        ("   ", "blank"),
    ],
)
def test_anything_else_is_refused_with_the_reason(value, reason):
    assert reason in _refusal(value)
    assert not re.fullmatch(PATTERN, value)


def test_length_is_bounded():
    assert _Form(name="张" * 50).name == "张" * 50
    assert "at most 50" in _refusal("张" * 51)
    assert "at least 1" in _refusal("")


def test_the_published_schema_carries_the_rule():
    schema = _Form.model_json_schema()["properties"]["name"]
    assert (schema["type"], schema["minLength"], schema["maxLength"], schema["pattern"]) == ("string", 1, 50, PATTERN)


def _home_visit(name: str) -> dict:
    return {"investigators": ["张强", name], "findings": "与申报一致"}


@pytest.mark.parametrize(
    ("schema", "body", "field"),
    [
        (MemberIn, lambda n: {"name": n, "id_number": resident_id(), "relation": "head"}, ("name",)),
        (MemberUpdate, lambda n: {"name": n}, ("name",)),
        (
            BankAccountIn,
            lambda n: {"bank_name": "吴起农村商业银行", "account_holder": n, "account_number": "6217000012345678901"},
            ("account_holder",),
        ),
        (ApplicationAmend, lambda n: {"separate_register_name": n}, ("separate_register_name",)),
        (HomeVisitIn, _home_visit, ("investigators", 1)),
    ],
)
def test_every_schema_that_takes_a_persons_name_applies_the_rule(schema, body, field):
    assert schema.model_validate(body("买买提•艾力")).model_dump()[field[0]] in ("买买提·艾力", ["张强", "买买提·艾力"])
    with pytest.raises(ValidationError) as caught:
        schema.model_validate(body('=HYPERLINK("http://x","y")'))
    assert [e["loc"] for e in caught.value.errors()] == [field]
