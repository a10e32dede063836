"""Files the services hand out: their media types and the attachment responses that carry them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from fastapi.responses import StreamingResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# A page the services render is self-contained: inline styles and SVG, no script, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def or_xlsx() -> dict[int | str, dict[str, Any]]:
    """The `responses` of an endpoint whose 200 may be an .xlsx file as well as its JSON (a new dict each time:
    FastAPI writes into it while it builds the OpenAPI document)."""
    return {200: {"content": {XLSX: {}}}}


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser save the answer as `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def streamed(out: IO[bytes], media_type: str, filename: str) -> StreamingResponse:
    """A spooled file sent in 64 KiB chunks, closed once sent, so a large one is never held in memory whole."""

    def chunks() -> Iterator[bytes]:
        with out:
            while chunk := out.read(1 << 16):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=attachment(filename))
