"""Person names (姓名) as the front desk may record them: members, bank account holders (户名), staff named in a case.

What a name on a 居民身份证 can hold: CJK ideographs (the basic block, extension A, the compatibility ideographs and
the supplementary and tertiary ideographic planes, so extensions B–I and rare 生僻字 are accepted) and 〇; the middle
dot `·` between the parts of a transliterated minority name (买买提·艾力); Latin letters (with accents, for pinyin and
foreign names) with single spaces, hyphens or apostrophes between the parts (Mary-Jane O'Neil). Nothing else: no
digits, no control characters, and never a leading `=`, `+`, `-` or `@` — the start of a spreadsheet formula in the
bank file and the rosters a name is later written to.

The look-alikes keyboards and input methods produce are accepted and normalised: `•`, `・`, `．` and the other dots
to `·`, typographic apostrophes and hyphens to `'` and `-`, full-width and no-break spaces to a space; surrounding
spaces are dropped. The one rule is `PersonName`; every schema that accepts a person's name uses it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from shared.validation import CONTROL_CHARACTERS

MAX_NAME_LENGTH = 50  # the longest transliterated names run to about 20 characters, foreign names to about 40

MIDDLE_DOT = "·"
# Each variant and what it becomes. ꞏ (U+A78F) is Unicode's own "sinological dot"; ᐧ and ‧ are what some input
# methods give for the middle dot; the full-width full stop is the Chinese IME's "." key.
_VARIANTS = {
    **dict.fromkeys("•・･‧⋅∙．·ᐧꞏ", MIDDLE_DOT),
    **dict.fromkeys("‐‑－", "-"),
    **dict.fromkeys("’‘ʼ＇", "'"),
    **dict.fromkeys("\u3000\u00a0", " "),
}
_SEPARATORS = MIDDLE_DOT + "-' " + "".join(_VARIANTS)
_SPACES = " \u3000\u00a0"
_LETTERS = (
    "A-Za-z"
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"  # Latin-1 letters, Latin Extended-A/B and Additional
    "\u3007"  # 〇
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # extension A, the basic block, compatibility ideographs
    "\U00020000-\U0002fffd\U00030000-\U0003fffd"  # supplementary and tertiary ideographic planes: extensions B–I
)
_LETTER = f"[{_LETTERS}]"
_SEPARATOR = "[" + _SEPARATORS.replace("-", "") + "\\-]"  # only `-` needs escaping, in Python and ECMA regex alike
# The whole rule as one expression over what is sent: published in the OpenAPI as the field's pattern, so what the
# schema allows and what the server accepts are the same set.
PATTERN = f"^[{_SPACES}]*{_LETTER}+(?:{_SEPARATOR}{_LETTER}+)*[{_SPACES}]*$"
_NAME = re.compile(PATTERN)
_ALLOWED = re.compile(f"{_LETTER}|{_SEPARATOR}")
_FORMULA_START = frozenset("=+-@＝＋－＠")


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("person_name", message)


def normalise_person_name(value: str) -> str:
    """The name as stored, or a ValueError (pydantic's, naming the field in the 422) saying what is wrong."""
    if CONTROL_CHARACTERS.search(value) or any(c in value for c in "\t\r\n"):
        raise _refuse("a name cannot hold control characters, tabs or line breaks")
    text = value.strip(_SPACES)
    if not text:
        raise _refuse("a name cannot be blank")
    if text[:1] in _FORMULA_START:
        raise _refuse("a name cannot start with =, +, -, or @ (a spreadsheet would read it as a formula)")
    if not _NAME.match(value):
        foreign = sorted({c for c in text if not _ALLOWED.match(c)})
        if foreign:
            shown = ", ".join(repr(c) for c in foreign[:5])
            raise _refuse(
                f"a name cannot hold {shown}: use Chinese characters, · between the parts of a transliterated "
                "name, or Latin letters with single spaces, hyphens or apostrophes"
            )
        raise _refuse("·, hyphens, apostrophes and spaces go between the parts of a name, one at a time")
    return "".join(_VARIANTS.get(c, c) for c in text)


PersonName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(normalise_person_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_NAME_LENGTH,
            "pattern": PATTERN,
            "description": "姓名: Chinese characters (extensions included), · between the parts of a transliterated "
            "name, or Latin letters with single spaces, hyphens or apostrophes; never a leading = + - @",
        }
    ),
]
"""A pydantic/FastAPI field type: a person's name, validated and normalised (see the module)."""
