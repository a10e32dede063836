"""Money is integer fen everywhere it is kept or computed; yuan appears only as text for people to read (bank
files, 花名册, notices, the reasons of an assessment)."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 123456 → '1234.56', -5 → '-0.05'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
