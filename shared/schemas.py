"""Fields copied by name between rows, domain objects, events and response schemas."""

from __future__ import annotations

import dataclasses
import functools
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
    names = _model_names(type(source), target) if isinstance(source, BaseModel) else None
    if names is not None:
        return {name: getattr(source, name) for name in names}
    return {name: getattr(source, name) for name in field_names(target) if hasattr(source, name)}


@functools.cache
def _model_names(source: type[BaseModel], target: type) -> tuple[str, ...] | None:
    """The names `attributes` copies from any instance of the pydantic model `source`, when its class alone decides
    them (no extra fields): asking each instance costs a raised AttributeError per name it lacks, and a bulk
    handler asks thousands of events."""
    if source.model_config.get("extra") == "allow":
        return None
    return tuple(n for n in field_names(target) if n in source.model_fields or hasattr(source, n))
