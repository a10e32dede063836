"""Validators shared by request bodies."""

from __future__ import annotations

import re
from typing import Any

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


#: The JSON Schema of a partial update's body (PATCH): at least one field, as `require_a_field` enforces.
AT_LEAST_ONE_FIELD = {"minProperties": 1}


def require_a_field(model: Any) -> Any:
    """For partial updates (PATCH): a body that sends no field would change nothing yet bump the version and write
    an audit row of no fields. Use as `model_validator(mode="after")(require_a_field)`, with
    `json_schema_extra=AT_LEAST_ONE_FIELD` in the model's config; the 422 names `body`."""
    if not model.model_fields_set:
        raise ValueError("send at least one field to change")
    return model
