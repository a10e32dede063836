"""Money is integer fen everywhere it is kept or computed; yuan appears only as text for people to read (bank
files, 花名册, notices, the reasons of an assessment)."""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge
from pydantic import Strict

Fen = Annotated[int, Strict(), Ge(0)]
"""Money in integer fen (分) as input: a JSON integer ≥ 0 and nothing else — a string ("100"), a float (100.0,
99.5) or a boolean is a 422 naming the field, never coerced. The one type every schema that takes fen uses; bound
it further with `Field(le=…)`."""


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 123456 → '1234.56', -5 → '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


# ASCII digits only: a regex's digit class, Decimal and int() all read full-width (１０００) and other scripts'
# digits as 0-9.
_YUAN = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,2}))?")


def fen_of_yuan(text: str, *, max_whole_digits: int = 12) -> int:
    """Yuan as written in a file (1234, 1234.5, 1234.50) as whole fen, never through a float: digits 0-9, at most
    two decimals and `max_whole_digits` before the point; ValueError for anything else (a sign, an exponent,
    full-width or other scripts' digits, a thousands separator — the caller strips those it accepts)."""
    match = _YUAN.fullmatch(text)
    if match is None or len(match.group(1)) > max_whole_digits:
        raise ValueError("not an amount in yuan with at most two decimals")
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)
