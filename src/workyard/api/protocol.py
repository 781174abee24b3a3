"""The HTTP/1.1 protocol the server speaks: uvicorn's httptools parser, the error envelope, limits.

A request that cannot even be parsed (a malformed request line, raw non-ASCII bytes in the target)
never reaches the application; uvicorn answers it with a plain-text 400. This protocol answers it
with the API's error envelope instead, as every other error path does.

It also bounds what one connection may cost while a request is being *received* (never while a
response is produced, so long polls and event streams are unaffected):

- request line + headers over ``max_header_bytes`` → 431, decided by counting raw bytes before they
  reach the parser (nothing past the limit is parsed or buffered);
- headers not complete ``header_timeout`` seconds after the request began → closed (408 when part of
  a request arrived); a body with no progress for ``body_timeout`` seconds → closed;
- more than ``max_connections`` open connections → 503 ``overloaded_error``, without parsing.

Each connection holds at most one timer handle, re-armed lazily when it fires early.

Each request's scope also carries ``scope["extensions"]["workyard.disconnect"]``: a future that
completes when the client's connection is lost before the response is complete (a blocked long
poll stops waiting then, without a task watching ``receive()``).
"""

from __future__ import annotations

import asyncio
import http
import uuid
from asyncio import TimerHandle, Transport
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from workyard.api.middleware import envelope_bytes
from workyard.errors import InvalidRequestError, OverloadedError, WorkyardError

__all__ = ["DISCONNECT", "ConnectionLimits", "EnvelopeHttpProtocol", "limited_protocol"]

DISCONNECT = "workyard.disconnect"

# After a rejection the connection is half-closed and the rest of the request read and dropped, so
# the client sees the answer instead of a reset — for at most this long and this many bytes.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1 << 20

_UNPARSEABLE = "The request is not valid HTTP/1.1 and could not be read."
_HEAD, _BODY, _IDLE = 0, 1, 2  # receiving headers, receiving a body, between requests


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 10_000


def limited_protocol(limits: ConnectionLimits) -> type[EnvelopeHttpProtocol]:
    """The protocol class to give ``uvicorn.Config(http=...)`` for these limits."""

    class LimitedHttpProtocol(EnvelopeHttpProtocol):
        pass

    LimitedHttpProtocol.limits = limits
    return LimitedHttpProtocol


class EnvelopeHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` answering with the error envelope, within :class:`ConnectionLimits`."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    _timer: TimerHandle | None = None
    _timer_at = 0.0
    _head_started = 0.0  # when the current request's first byte (or the connection) arrived
    _head_bytes = 0  # bytes of the current request's line + headers fed to the parser so far
    _fresh = False  # the chunk being fed was counted for the next request to begin
    _restarts = 0  # requests that began after another ended inside one chunk
    _progress = 0.0  # when the last body bytes arrived
    _linger_left = -1  # ≥ 0 once rejected: bytes still to read and drop before giving up

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._reject(OverloadedError("Too many open connections; retry later."))
            return
        self._head_started = self.loop.time()
        self._arm(self._head_started + self.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._linger_left >= 0:
            self._linger_left -= len(data)
            if self._linger_left < 0:
                self.transport.abort()
            return
        phase = self._phase()
        if phase == _BODY:
            self._fresh = False
            self._progress = self.loop.time()
            super().data_received(data)
        else:
            if phase == _IDLE:  # the first bytes of the next request on this connection
                self._head_bytes = 0
                self._head_started = self.loop.time()
            self._fresh = phase == _IDLE or self.scope is None
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) > room:
                self._overflow(data, room)
                return
            self._head_bytes += len(data)
            super().data_received(data)
        if self._linger_left < 0:
            self._after_feed()

    def _overflow(self, data: bytes, room: int) -> None:
        """Feed only what fits; if the headers are still incomplete, answer 431."""
        restarts = self._restarts
        self._head_bytes += room
        if room > 0:
            super().data_received(data[:room])
        if self.transport.is_closing() or self._linger_left >= 0:
            return
        if self._phase() == _HEAD and self._restarts == restarts:
            size = self.limits.max_header_bytes
            self._reject(
                InvalidRequestError(
                    f"The request line and headers exceed {size} bytes.", status=431
                )
            )
            return
        self.data_received(data[room:])

    def _phase(self) -> int:
        cycle = self.cycle
        if cycle is None or cycle.scope is not self.scope:
            return _HEAD
        return _BODY if cycle.more_body else _IDLE

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._fresh:  # the bytes counted so far are this request's
            self._fresh = False
        else:  # it began after another request ended inside this chunk: count it afresh
            self._restarts += 1
            self._head_bytes = 0
            self._head_started = self.loop.time()

    def _after_feed(self) -> None:
        phase = self._phase()
        if phase == _BODY:
            self._progress = self.loop.time()
            self._arm(self._progress + self.limits.body_timeout)
        elif phase == _HEAD:
            self._arm(self._head_started + self.limits.header_timeout)

    def _arm(self, at: float) -> None:
        """Make sure a check runs by ``at``; an earlier pending check will re-arm itself."""
        if self._timer is not None:
            if self._timer_at <= at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.loop.call_at(at, self._check)

    def _check(self) -> None:
        self._timer = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return
        if self._linger_left >= 0:
            transport.close()
            return
        phase = self._phase()
        if phase == _IDLE:
            return
        now = self.loop.time()
        if self._busy():  # not receiving: the limits wait until the response is done
            self._head_started = self._progress = now
        if phase == _HEAD:
            deadline = self._head_started + self.limits.header_timeout
        else:
            deadline = self._progress + self.limits.body_timeout
        if now < deadline:
            self._arm(deadline)
        elif phase == _HEAD and self._head_bytes:
            self._reject(InvalidRequestError("The request headers took too long.", status=408))
        else:
            transport.close()

    def _busy(self) -> bool:
        """A response is being produced, or reading is paused by flow control (not the client)."""
        if self.flow.read_paused or self.pipeline:
            return True
        cycle = self.cycle
        return cycle is not None and cycle.response_started and not cycle.response_complete

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
        self._reject(InvalidRequestError(_UNPARSEABLE))

    def _reject(self, error: WorkyardError) -> None:
        """Answer ``error`` with the envelope and close, unless a response is already under way."""
        transport: Transport = self.transport
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if self.pipeline or cycle.response_started:
                transport.abort()  # the answer to an earlier request is being written
                return
            cycle.disconnected = True  # the application's request ends here, unanswered by it
            cycle.message_event.set()
        rid = str(uuid.uuid4())
        body = envelope_bytes(rid, error.to_error_body())
        phrase = http.HTTPStatus(error.status).phrase
        head = [f"HTTP/1.1 {error.status} {phrase}\r\n".encode("ascii")]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        if error.status == 503:
            head.append(b"retry-after: 1\r\n")
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"x-request-id: " + rid.encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        transport.write(b"".join(head) + body)
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._linger_left = _LINGER_BYTES
        self.flow.resume_reading()
        if self._timer is not None:  # replace whatever was pending with the linger deadline
            self._timer.cancel()
        self._timer_at = self.loop.time() + _LINGER_SECONDS
        self._timer = self.loop.call_at(self._timer_at, self._check)
