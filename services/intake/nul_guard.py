"""Refuse NUL characters in JSON bodies and query strings with a 422 instead of a database error.

PostgreSQL text cannot hold U+0000, so a string containing it would fail deep in a query (a 500). JSON is valid
with `\\u0000` and schemas do not exclude it, so one check at the edge covers every field of every endpoint.
Multipart uploads are left alone: file bytes may contain anything (their text fields are checked where read)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            await self._reject("query", scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if not content_type.startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"\\u0000" in body or b"\x00" in body:
            await self._reject("body", scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(field: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(422, "Invalid input", f"{field}: NUL characters are not allowed", "invalid-input",
                           errors=[{"field": field, "message": "NUL characters (\\u0000) are not allowed"}])
        await response(scope, receive, send)
