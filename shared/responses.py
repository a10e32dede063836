"""The kit's responses beyond a model's JSON: a file streamed as an attachment, an answer tagged with its ETag.

What goes in them is plain code below the edge: media types and filenames (`shared/downloads.py`), entity tags
(`shared/preconditions.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Protocol, TypeVar

import orjson
from fastapi import Response
from fastapi.responses import StreamingResponse

from shared.downloads import attachment
from shared.preconditions import etag


class _HasVersion(Protocol):
    version: int


_Versioned = TypeVar("_Versioned", bound=_HasVersion)


def streamed(out: IO[bytes], media_type: str, filename: str) -> StreamingResponse:
    """A spooled file sent in 64 KiB chunks, closed once sent, so a large one is never held in memory whole."""

    def chunks() -> Iterator[bytes]:
        with out:
            while chunk := out.read(1 << 16):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=attachment(filename))


def tag(response: Response, version: int) -> None:
    """Set the `ETag` of the representation being answered."""
    response.headers["ETag"] = etag(version)


def versioned(response: Response, answer: _Versioned) -> _Versioned:
    """An answer with a `version` (a household, an application), returned with its `ETag` set."""
    tag(response, answer.version)
    return answer


def tag_answer(response: Response) -> Response:
    """`tag` an answer already rendered as JSON with a `version` field (e.g. by `IdempotencyKey.run`, whose replay
    of a stored first answer carries that answer's version)."""
    tag(response, orjson.loads(response.body)["version"])
    return response
