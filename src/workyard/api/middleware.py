"""Pure ASGI middleware: request id (echoed in a header) and the request body limit."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workyard.api.inputs import BodyTooLargeError
from workyard.logs import begin as begin_request_log

__all__ = ["RequestContextMiddleware", "envelope_bytes", "request_id_of"]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = state["request_id"] = _incoming_id(scope) or str(uuid.uuid4())
        begin_request_log(scope)
    return str(rid)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID_RE.match(text) else None
    return None


def envelope_bytes(request_id: str, error: dict[str, Any]) -> bytes:
    body = {"type": "error", "request_id": request_id, "error": error}
    return json.dumps(body, separators=(",", ":")).encode()


class RequestContextMiddleware:
    """Assign the request id, echo it in ``x-request-id``, enforce the body limit while reading."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        if self._declared_length(scope) > self.max_body_bytes:
            await self._reject(rid, send_with_id)
            return
        await self.app(scope, self._limited(receive), send_with_id)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLargeError()
            return message

        return limited_receive

    @staticmethod
    async def _reject(rid: str, send: Send) -> None:
        body = envelope_bytes(
            rid, {"type": "invalid_request_error", "message": BodyTooLargeError.default_message}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
