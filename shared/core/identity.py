"""Resident identity numbers (居民身份证号码, GB 11643-1999) and privacy helpers.

An 18-character number is: 6-digit address code (where the ID was first issued, not where the person lives
now; its first two digits a province's) + birth date YYYYMMDD + 3-digit sequence (odd = male) + check character
(0-9 or X).

Also here: masking for public notices (公示) and logs, and a keyed fingerprint so services can correlate or
look up a person without storing or logging the number itself.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

from shared.core.household import age_on
from shared.core.period import china_today
from shared.core.regions import province_codes

__all__ = [
    "FINGERPRINT_HASHES",
    "InvalidResidentId",
    "ResidentId",
    "ResidentIdStr",
    "check_character",
    "fingerprinter",
    "id_fingerprint",
    "mask_name",
    "mask_resident_id",
    "parse_resident_id",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_DIGIT_OFFSET = ord("0") * sum(_WEIGHTS)
_EARLIEST_BIRTH = date(1900, 1, 1)
_ASCII_DIGITS = frozenset("0123456789")
# The address code's province: one of the NBS table's (the mainland's 31), or one GB/T 2260 lists and NBS does not
# count — 71 台湾省 — or the 港澳台居民居住证's 81 香港, 82 澳门 and 83 台湾 (国办发〔2018〕81号), whose numbers are
# GB 11643 numbers too. Only the province is checked: a number issued under a county or prefecture code since
# abolished or renumbered stays valid for life.
_PROVINCES = province_codes() | {"71", "81", "82", "83"}
# An HMAC over a space of a few billion possible numbers is only as strong as its key: with a short or
# guessable key anyone can enumerate every ID and reverse the fingerprint.
_MIN_SECRET_BYTES = 16

Sex = Literal["male", "female"]


class InvalidResidentId(ValueError):
    """Not a valid GB 11643 resident ID; ``reason`` says why (safe to show: it never echoes the value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated resident ID. ``number`` is normalised (upper-case X)."""

    number: str
    address_code: str
    birth_date: date
    sex: Sex

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day`` (born on 29 Feb: a year older on 1 Mar in common years)."""
        return age_on(self.birth_date, day)


def check_character(first17: str) -> str:
    """The GB 11643 check character (校验码) for the first 17 digits."""
    if len(first17) != 17 or not _all_ascii_digits(first17):
        raise ValueError("the check character is computed over exactly 17 digits")
    return _check_of_digits(first17)


def _check_of_digits(first17: str) -> str:
    """check_character for 17 characters already known to be ASCII digits."""
    # map over C functions on the ASCII bytes (digit d is byte 48 + d, the offset taken off in one go): partners'
    # files are checked a million numbers at a time.
    return _CHECK_CHARS[(sum(map(operator.mul, first17.encode(), _WEIGHTS)) - _DIGIT_OFFSET) % 11]


def _all_ascii_digits(text: str) -> bool:
    # str.isdigit() alone would also accept full-width and other Unicode digits.
    return text.isascii() and text.isdigit()


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate and decode an 18-character resident ID.

    Surrounding whitespace is ignored and a lower-case ``x`` is accepted: both are common at the front desk.
    ``today`` (default: the current date) bounds the birth date; pass it for reproducible checks.
    Error reasons never include the number itself, so they can be returned to clients and logged.
    """
    number = value.strip().upper()
    if len(number) != 18:
        hint = " (15-digit first-generation numbers must be converted to 18 digits)" if len(number) == 15 else ""
        raise InvalidResidentId(f"must be 18 characters, got {len(number)}{hint}")
    # Only ASCII digits: str.isdigit() would also accept full-width and other Unicode digits.
    if not _all_ascii_digits(number[:17]):
        raise InvalidResidentId("the first 17 characters must be digits 0-9")
    if number[17] not in _ASCII_DIGITS and number[17] != "X":
        raise InvalidResidentId("the last character must be a digit 0-9 or X")

    # Not which digits: the reason is shown and logged, and never echoes any part of the number.
    if number[:2] not in _PROVINCES:
        raise InvalidResidentId("the address code (first 6 digits) does not begin with a province-level code")

    # Nor the birth date: eight of the number's digits, and these reasons are stored in feed error reports and
    # roll-import issues as well as answered.
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId("the birth date in the number is not a calendar date") from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidResidentId("the birth date in the number is before 1900")
    if birth > (today or china_today()):  # a child born this morning in China
        raise InvalidResidentId("the birth date in the number is in the future")

    # Deliberately do not say which character was expected: that would turn the API into a check-digit oracle.
    if _check_of_digits(number[:17]) != number[17]:
        raise InvalidResidentId("the check character does not match")

    sex: Sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, address_code=number[:6], birth_date=birth, sex=sex)


def mask_resident_id(number: str) -> str:
    """Mask an ID for display or logs: first 6 and last 4 kept, e.g. ``610626********123X``.

    Works on any string without validating it; values of 10 characters or fewer are masked entirely, so a
    short or malformed value never leaks more than a valid one would.
    """
    text = number.strip().upper()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(name: str) -> str:
    """Mask a name for a public notice (公示), as the Chinese convention does: the first character kept, the last
    kept when there are three or more, everything between masked — a transliterated name's `·` (or look-alike) and
    a Latin name's spaces too, so its parts are not laid out and no part of two or more characters shows in full.

    张三 → 张*, 张三明 → 张*明, 欧阳小明 → 欧**明, 买·力 → 买*力, 阿不都·热合曼 → 阿*****曼. A one-character name is
    masked entirely (*): shown as is, it would be the whole name. Every name of one character or more comes out
    with at least one `*` and never as it went in; surrounding spaces are dropped, the length kept.
    """
    text = name.strip()
    if len(text) <= 1:
        return "*" * len(text)
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


#: The hash each crypto profile keys its fingerprints with (`shared.sealing.CryptoProfile`): HMAC-SHA256 by
#: default, HMAC-SM3 (GB/T 32905) under the 国密 profile. Every service that matches on fingerprints (intake's
#: members, monitoring's partner rows and persons) must use the same profile and key, or nothing matches.
FINGERPRINT_HASHES = {"standard": "sha256", "gm": "sm3"}


def _hash_name(profile: str) -> str:
    if profile not in FINGERPRINT_HASHES:
        raise ValueError(f"unknown crypto profile {profile!r}")
    return FINGERPRINT_HASHES[profile]


def id_fingerprint(number: str, secret: bytes, profile: str = "standard") -> str:
    """HMAC (SHA-256, or SM3 under the `gm` profile; hex) of the normalised number, for lookups and log
    correlation without the number itself.

    The number is only normalised (trimmed, upper-case X), not validated, so the same input always gives the
    same fingerprint. ``secret`` must be at least 16 bytes and kept out of the database the fingerprints
    live in.
    """
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the fingerprint secret must be at least {_MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, number.strip().upper().encode(), _hash_name(profile)).hexdigest()


def fingerprinter(secret: bytes, profile: str = "standard") -> Callable[[str], str]:
    """:func:`id_fingerprint` with the key prepared once, for bulk work (a partner's million-row file): the
    same digests at about half the cost per number."""
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the fingerprint secret must be at least {_MIN_SECRET_BYTES} bytes")
    name = _hash_name(profile)
    # HMAC (RFC 2104) spelt out over hashlib's C objects: the two keyed states are prepared once and copied per
    # number, without hmac.HMAC's Python-level copy (a third of the cost).
    block = hashlib.new(name).block_size
    padded = (hashlib.new(name, secret).digest() if len(secret) > block else secret).ljust(block, b"\0")
    inner = hashlib.new(name, bytes(b ^ 0x36 for b in padded))
    outer = hashlib.new(name, bytes(b ^ 0x5C for b in padded))

    def fingerprint(number: str) -> str:
        digest = inner.copy()
        digest.update(number.strip().upper().encode())
        keyed = outer.copy()
        keyed.update(digest.digest())
        return keyed.hexdigest()

    return fingerprint


def _validate_resident_id(value: str) -> str:
    # InvalidResidentId is a ValueError, so pydantic turns it into a validation error on the field and FastAPI
    # answers 422 with the field's location and the reason.
    return parse_resident_id(value).number


ResidentIdStr = Annotated[
    str,
    AfterValidator(_validate_resident_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "minLength": 18,
            "maxLength": 18,
            "description": "Resident ID number (居民身份证号码, GB 11643), normalised to upper-case X",
        }
    ),
]
"""A pydantic/FastAPI field type: a valid resident ID, normalised (upper-case X, no surrounding spaces)."""
