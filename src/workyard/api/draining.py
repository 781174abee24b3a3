"""While the server drains for shutdown, new requests get 503 ``overloaded_error`` [decided].

A draining server (``workyard serve`` got SIGTERM or SIGINT) ends its long polls and event streams
and finishes requests already running; anything new under ``/api/`` — and ``/readyz``, so that a
load balancer takes the replica out — is answered 503 with ``Retry-After: 1``, to be retried on
another replica. ``/healthz`` and ``/metrics`` keep answering.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from workyard.api.middleware import envelope_bytes, request_id_of
from workyard.errors import OverloadedError

__all__ = ["DrainingMiddleware"]

_GUARDED = ("/api/", "/readyz")


class DrainingMiddleware:
    def __init__(self, app: ASGIApp, draining: asyncio.Event) -> None:
        self.app = app
        self.draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.draining.is_set()
            and scope["path"].startswith(_GUARDED)
        ):
            error = OverloadedError("The server is shutting down; retry (another replica).")
            response = Response(
                envelope_bytes(request_id_of(scope), error.to_error_body()),
                status_code=error.status,
                media_type="application/json",
                headers={"retry-after": "1"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
