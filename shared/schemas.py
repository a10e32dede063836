"""Building response schemas from rows and domain objects."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def attributes(source: object, schema: type[BaseModel]) -> dict[str, Any]:
    """Those of the schema's fields that `source` (an ORM row, a domain object) has as attributes, by name: for a
    schema that is the row's fields plus a few derived ones (`model_validate({**attributes(row, Out), ...})`);
    one that is only the row's fields is `Out.model_validate(row, from_attributes=True)`."""
    return {name: getattr(source, name) for name in schema.model_fields if hasattr(source, name)}
