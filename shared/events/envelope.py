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

    specversion: Literal["1.0"] = "1.0"
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
        model: the data is serialised once by pydantic's own encoder and embedded as is (the outbox writes
        thousands of these in a bulk handler, where the envelope model was most of the cost)."""
        envelope = {
            "specversion": "1.0",
            "id": self.id,
            "source": source,
            "type": self.type,
            "subject": self.subject or self.key,
            "time": self.time,
            "datacontenttype": "application/json",
            "dataschema": f"urn:cn.gov.mca.assistance:schema:{self.type}",
            "region": self.region,
            "correlationid": correlation_id,
            "data": orjson.Fragment(self.data.model_dump_json()),
        }
        return orjson.dumps({k: v for k, v in envelope.items() if v is not None}, option=orjson.OPT_UTC_Z)

    def to_cloudevent(self, source: str, correlation_id: str | None) -> CloudEvent:
        return CloudEvent(
            id=self.id,
            source=source,
            type=self.type,
            subject=self.subject or self.key,
            time=self.time,
            dataschema=f"urn:cn.gov.mca.assistance:schema:{self.type}",
            region=self.region,
            correlationid=correlation_id,
            data=self.data.model_dump(mode="json"),
        )
