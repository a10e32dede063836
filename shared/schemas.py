"""Fields copied by name between rows, domain objects, events and response schemas."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel


def field_names(target: type) -> list[str]:
    """A pydantic model's fields, a dataclass's, or a mapped (ORM) class's column attributes."""
    if issubclass(target, BaseModel):
        return list(target.model_fields)
    if dataclasses.is_dataclass(target):
        return [f.name for f in dataclasses.fields(target)]
    return [a.key for a in target.__mapper__.column_attrs]  # type: ignore[attr-defined]


def attributes(source: object, target: type) -> dict[str, Any]:
    """Those of `target`'s fields that `source` (an ORM row, a domain object, an event) has as attributes, by name:
    `Target(**attributes(source, Target), derived=...)` for a target that is the source's fields plus a few derived
    ones. One that is only the source's fields is `Target.model_validate(source, from_attributes=True)`."""
    return {name: getattr(source, name) for name in field_names(target) if hasattr(source, name)}
