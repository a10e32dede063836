"""Validators shared by request bodies."""

from __future__ import annotations

import re

# Control characters (Unicode category Cc) but tab, line feed and carriage return: never part of what a front desk
# types, and PostgreSQL text cannot even hold U+0000. The request guard (shared/app.py) refuses them in every JSON
# body, query and path; text read from uploads is checked with this where it is read.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def reject_null(value: object) -> object:
    """For partial updates (PATCH): a field left out keeps its value; sent as null it would erase a required
    fact. Use as `field_validator("name", ...)(reject_null)`; the 422 names the field."""
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep its value")
    return value
