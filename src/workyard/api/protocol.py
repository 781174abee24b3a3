"""The HTTP/1.1 protocol the server speaks: uvicorn's httptools parser, with the error envelope.

A request that cannot even be parsed (a malformed request line, raw non-ASCII bytes in the target,
oversized headers) never reaches the application; uvicorn answers it with a plain-text 400. This
protocol answers it with the API's error envelope instead, as every other error path does.

Each request's scope also carries ``scope["extensions"]["workyard.disconnect"]``: a future that
completes when the client's connection is lost before the response is complete (a blocked long
poll stops waiting then, without a task watching ``receive()``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from workyard.api.middleware import envelope_bytes
from workyard.errors import InvalidRequestError

__all__ = ["DISCONNECT", "EnvelopeHttpProtocol"]

DISCONNECT = "workyard.disconnect"


class EnvelopeHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose answer to an unparseable request is the error envelope."""

    _gone: list[asyncio.Future[None]] | None = None  # this connection's unfinished requests

    def on_headers_complete(self) -> None:
        gone = self.loop.create_future()
        extensions = cast("dict[str, Any]", self.scope.setdefault("extensions", {}))
        extensions[DISCONNECT] = gone
        if self._gone is None:
            self._gone = []
        self._gone.append(gone)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        if self._gone:  # the oldest unfinished request is the one answered (HTTP/1.1 order)
            del self._gone[0]
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        for gone in self._gone or ():
            if not gone.done():
                gone.set_result(None)
        self._gone = None

    def send_400_response(self, msg: str) -> None:
        rid = str(uuid.uuid4())
        error = InvalidRequestError("The request is not valid HTTP/1.1 and could not be read.")
        body = envelope_bytes(rid, error.to_error_body())
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"x-request-id: " + rid.encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
