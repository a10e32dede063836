"""Validators shared by request bodies."""

from __future__ import annotations


def reject_null(value: object) -> object:
    """For partial updates (PATCH): a field left out keeps its value; sent as null it would erase a required
    fact. Use as `field_validator("name", ...)(reject_null)`; the 422 names the field."""
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep its value")
    return value
