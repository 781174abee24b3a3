"""The HTTP/1.1 protocol the server speaks: uvicorn's httptools parser, with the error envelope.

A request that cannot even be parsed (a malformed request line, raw non-ASCII bytes in the target,
oversized headers) never reaches the application; uvicorn answers it with a plain-text 400. This
protocol answers it with the API's error envelope instead, as every other error path does.
"""

from __future__ import annotations

import uuid

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from workyard.api.middleware import envelope_bytes
from workyard.errors import InvalidRequestError

__all__ = ["EnvelopeHttpProtocol"]


class EnvelopeHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose answer to an unparseable request is the error envelope."""

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
