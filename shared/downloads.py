"""Files the services hand out: their media types, the headers that name them; the response that streams one is
`shared.responses.streamed`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# A page the services render is self-contained: inline styles and SVG, no script, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it a browser sends `Origin: null` with a page's own login and logout forms, which the
    # same-origin check then could not tell from another site's. Nothing is sent to another site either way.
    "Referrer-Policy": "same-origin",
}


def or_xlsx() -> dict[int | str, dict[str, Any]]:
    """The `responses` of an endpoint whose 200 may be an .xlsx file as well as its JSON (a new dict each time:
    FastAPI writes into it while it builds the OpenAPI document)."""
    return {200: {"content": {XLSX: {}}}}


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser save the answer as `filename`; a name a header cannot carry as it is (a
    Chinese one, a quote) goes as RFC 6266's `filename*`, UTF-8 percent-encoded."""
    encoded = quote(filename, safe=" ()[]-_.,+")
    if encoded == filename:
        return {"Content-Disposition": f'attachment; filename="{filename}"'}
    return {"Content-Disposition": f"attachment; filename*=utf-8''{quote(filename)}"}
