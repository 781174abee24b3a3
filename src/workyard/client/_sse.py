"""Server-Sent Events, with no I/O: the line parser and the reconnection bookkeeping.

:class:`SSEParser` follows the WHATWG ``text/event-stream`` rules: ``field: value`` lines, a
leading space of the value dropped, ``data`` lines joined with ``\\n``, comments (``: keep-alive``)
ignored, an event dispatched at each blank line (when it has data), ``id`` kept from one event to
the next, ``retry`` (milliseconds) remembered. Lines are given without their terminator
(``httpx``'s ``iter_lines`` splits on CRLF, LF and CR alike).

:class:`StreamCursor` decides what the sync and async clients do between connections: which
``Last-Event-ID`` to send (the id of the last *complete* event, never one from a half-received
frame) and how long to wait before reconnecting (:class:`ReconnectPolicy`: exponential backoff
with jitter, reset after a connection that delivered an event).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "TERMINAL_EVENTS",
    "ReconnectPolicy",
    "SSEParser",
    "ServerSentEvent",
    "StreamCursor",
    "is_retryable_status",
    "stream_headers",
]

_BOM = "\ufeff"
TERMINAL_EVENTS = frozenset({"session.deleted", "session.status_terminated"})


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: ``event`` defaults to ``"message"``; ``id`` is the last id seen
    (``""`` after an empty ``id:`` line, which clears it)."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


@dataclass
class SSEParser:
    """Feed it the stream's lines one by one; it returns an event at each dispatching blank line."""

    last_event_id: str | None = None
    retry: int | None = None
    comments: int = 0
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _started: bool = False

    def feed(self, line: str) -> ServerSentEvent | None:
        """Process one line (without its end-of-line); the event it completes, if any."""
        if not self._started:
            self._started = True
            line = line.removeprefix(_BOM)
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._field(name, value)
        return None

    def _field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent(
            data="\n".join(data),
            event=event or "message",
            id=self.last_event_id,
            retry=self.retry,
        )


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a stream reconnects after its connection ends or fails.

    Attempt ``n`` (0-based, counting reconnections since the last delivered event) waits between
    half and all of ``min(cap, initial * 2**n)`` seconds; a ``retry`` field from the server
    replaces ``initial``. ``max_attempts``: give up after that many reconnections in a row without
    an event (``None``: never). ``idle_timeout``: a connection silent for that long (no event, no
    keep-alive comment) is treated as dropped.
    """

    initial: float = 0.5
    cap: float = 30.0
    max_attempts: int | None = None
    idle_timeout: float = 45.0

    def delay(
        self,
        attempt: int,
        server_retry_ms: int | None = None,
        rng: Callable[[], float] | None = None,
    ) -> float:
        base = self.initial if server_retry_ms is None else server_retry_ms / 1000
        top = min(self.cap, base * 2.0 ** min(max(attempt, 0), 32))
        draw = (rng or random.random)()  # jitter, not crypto
        return top / 2 + top / 2 * draw


def is_retryable_status(status: int) -> bool:
    """Answers to a stream request worth reconnecting after: 408, 429 and 5xx."""
    return status in (408, 429) or status >= 500


def stream_headers(last_event_id: str | None) -> tuple[tuple[str, str], ...]:
    """The request headers of one stream connection."""
    headers = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache")]
    if last_event_id:
        headers.append(("Last-Event-ID", last_event_id))
    return tuple(headers)


class StreamCursor:
    """Where a resumable stream stands: the last complete event's id and the failures since."""

    def __init__(self, policy: ReconnectPolicy, last_event_id: str | None = None) -> None:
        self.policy = policy
        self.last_event_id = last_event_id
        self.attempt = 0
        self.connections = 0
        self._parser: SSEParser | None = None
        self._server_retry: int | None = None  # the last ``retry`` field, kept across connections

    def connect(self) -> SSEParser:
        """A parser for a new connection (its ``id`` starts from the cursor's)."""
        self.connections += 1
        self._parser = SSEParser(last_event_id=self.last_event_id)
        return self._parser

    def delivered(self, event: ServerSentEvent) -> None:
        """An event was complete: resume after it from now on; failures are forgotten."""
        self.last_event_id = event.id or None
        self.attempt = 0

    def next_delay(self) -> float | None:
        """Seconds to wait before reconnecting, or ``None`` when ``max_attempts`` is used up."""
        limit = self.policy.max_attempts
        if limit is not None and self.attempt >= limit:
            return None
        if self._parser is not None and self._parser.retry is not None:
            self._server_retry = self._parser.retry
        delay = self.policy.delay(self.attempt, self._server_retry)
        self.attempt += 1
        return delay
