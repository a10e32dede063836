"""The CloudEvents 1.0 structured-mode JSON envelope every event travels in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


class CloudEvent(BaseModel):
    """A CloudEvent. `region` (GB/T 2260 code) and `correlationid` are extension attributes."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"  # SPEC_VERSION
    id: uuid.UUID
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    region: str | None = None
    correlationid: str | None = None
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


def schema_of(event_type: str) -> str:
    return f"urn:cn.gov.mca.assistance:schema:{event_type}"


#: The attributes every event has the same value for.
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
#: The attributes that may be absent (a None is left out of the JSON).
_OPTIONAL = frozenset({"subject", "region", "correlationid"})


def envelope(
    *,
    id: Any,
    source: Any,
    type: Any,
    schema: Any,
    subject: Any,
    time: Any,
    region: Any,
    correlation_id: Any,
    data: Any,
) -> dict[str, Any]:
    """The CloudEvent's attributes in their order: the one definition of the envelope, from which events are
    serialised one by one (`DomainEvent.to_json`) and built set-based in SQL (`sql_envelope`)."""
    return {
        "specversion": SPEC_VERSION,
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": time,
        "datacontenttype": CONTENT_TYPE,
        "dataschema": schema,
        "region": region,
        "correlationid": correlation_id,
        "data": data,
    }


def sql_envelope(data: type[BaseModel], row: str, *, id: str, subject: str, region: str, tag: str = "") -> str:
    """A PostgreSQL expression building, for each row of `row`, the CloudEvent JSON that `DomainEvent.to_json`
    builds for `data` (what a set-based statement writes to the outbox for a million settled lines without a
    Python loop). The data object is built from `row`'s columns named as `data`'s fields; `id`, `subject` and
    `region` are SQL expressions; the source, type, schema and correlation id are bind parameters
    (`sql_envelope_params`, named with `tag` appended: one statement may build events of several types)."""
    fields = ", ".join(f"'{name}', {row}.{name}" for name in data.model_fields)
    attributes = envelope(
        id=id,
        source=f"CAST(:event_source{tag} AS text)",
        type=f"CAST(:event_type{tag} AS text)",
        schema=f"CAST(:event_schema{tag} AS text)",
        subject=subject,
        time="now()",
        region=region,
        correlation_id=f"CAST(:event_correlation_id{tag} AS text)",
        data=f"json_build_object({fields})",
    )
    attributes["specversion"], attributes["datacontenttype"] = f"'{SPEC_VERSION}'", f"'{CONTENT_TYPE}'"
    required = ", ".join(f"'{k}', {v}" for k, v in attributes.items() if k not in _OPTIONAL)
    optional = " || ".join(
        f"CASE WHEN {v} IS NULL THEN '' ELSE ',\"{k}\":' || CAST(to_json({v}) AS text) END"
        for k, v in attributes.items()
        if k in _OPTIONAL
    )
    # Built as JSON text, and stored as that text (the outbox's payload is `json`): nesting JSONB values (a household
    # snapshot in the data in the envelope) and appending the optional attributes with `||` would re-encode the
    # whole event at every step.
    return f"CAST(left(CAST(json_build_object({required}) AS text), -1) || {optional} || '}}' AS json)"


def sql_envelope_params(event_type: str, source: str, correlation_id: str | None, tag: str = "") -> dict[str, Any]:
    """The bind parameters of `sql_envelope`."""
    return {
        f"event_source{tag}": source,
        f"event_type{tag}": event_type,
        f"event_schema{tag}": schema_of(event_type),
        f"event_correlation_id{tag}": correlation_id,
    }


@dataclass(frozen=True)
class DomainEvent:
    """What a service's code raises: a catalogue type, the aggregate it is about, and its data.

    The unit of work turns it into a CloudEvent and an outbox row; `key` (the aggregate id) becomes the
    Kafka key so one household's or case's events stay in order."""

    type: str
    key: str
    data: BaseModel
    region: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self, source: str, correlation_id: str | None) -> bytes:
        """The CloudEvent's JSON, byte for byte `to_cloudevent(...).to_json()`, without building the envelope
        model: the data is serialised once by pydantic's own encoder and embedded as is, since a bulk handler
        writes thousands of these at a time."""
        attributes = envelope(
            id=self.id,
            source=source,
            type=self.type,
            schema=schema_of(self.type),
            subject=self.subject or self.key,
            time=self.time,
            region=self.region,
            correlation_id=correlation_id,
            data=orjson.Fragment(self.data.model_dump_json()),
        )
        return orjson.dumps({k: v for k, v in attributes.items() if v is not None}, option=orjson.OPT_UTC_Z)

    def to_cloudevent(self, source: str, correlation_id: str | None) -> CloudEvent:
        return CloudEvent(
            id=self.id,
            source=source,
            type=self.type,
            subject=self.subject or self.key,
            time=self.time,
            dataschema=schema_of(self.type),
            region=self.region,
            correlationid=correlation_id,
            data=self.data.model_dump(mode="json"),
        )
