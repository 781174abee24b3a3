"""Server-Sent Events, with no I/O: the line parser and the reconnection bookkeeping.

:class:`SSEParser` follows the WHATWG ``text/event-stream`` rules: ``field: value`` lines, a
leading space of the value dropped, ``data`` lines joined with ``\\n``, comments (``: keep-alive``)
ignored, an event dispatched at each blank line (when it has data), ``id`` kept from one event to
the next, ``retry`` (milliseconds) remembered. Lines are given without their terminator.

:class:`SSELineDecoder` cuts the stream's bytes into those lines exactly as the standard says: at
CRLF, LF or CR, and nowhere else. (``httpx``'s ``iter_lines`` uses ``str.splitlines``, which also
splits at U+0085, U+2028, U+2029 and a few control characters — inside a JSON ``data`` line.)

:class:`StreamCursor` decides what the sync and async clients do between connections: which
``Last-Event-ID`` to send (the id of the last *complete* event, never one from a half-received
frame) and how long to wait before reconnecting (:class:`ReconnectPolicy`: exponential backoff
with jitter, reset after a connection that delivered an event; the formula is
:class:`workyard.backoff.Backoff`).
"""

from __future__ import annotations

import codecs
import random
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from workyard.backoff import Backoff

__all__ = [
    "TERMINAL_EVENTS",
    "ReconnectPolicy",
    "SSELineDecoder",
    "SSEParser",
    "ServerSentEvent",
    "StreamCursor",
    "asse_lines",
    "is_retryable_status",
    "sse_lines",
    "stream_headers",
]

_BOM = "\ufeff"
_EOL = re.compile(r"\r\n|\r|\n")
TERMINAL_EVENTS = frozenset({"session.deleted", "session.status_terminated"})


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: ``event`` defaults to ``"message"``; ``id`` is the last id seen
    (``""`` after an empty ``id:`` line, which clears it)."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSELineDecoder:
    """UTF-8 bytes in, complete lines out; lines end at CRLF, LF or CR only.

    A CR at the end of a chunk ends its line at once; an LF at the start of the next chunk is then
    the second half of that CRLF, not an empty line.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""
        self._after_cr = False

    def feed(self, chunk: bytes) -> list[str]:
        """The lines that ``chunk`` completes."""
        text = self._decoder.decode(chunk)
        if self._after_cr and text:
            text = text.removeprefix("\n")
            self._after_cr = False
        if not text:
            return []
        parts = _EOL.split(self._tail + text)
        self._tail = parts.pop()
        self._after_cr = text.endswith("\r")
        return parts

    def flush(self) -> list[str]:
        """The unterminated last line, at the end of the stream (if there is one)."""
        text = self._tail + self._decoder.decode(b"", final=True)
        self._tail = ""
        return [text] if text else []


def sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a stream's byte chunks (:class:`SSELineDecoder`)."""
    decoder = SSELineDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()


async def asse_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """The lines of a stream's byte chunks, asynchronously (:class:`SSELineDecoder`)."""
    decoder = SSELineDecoder()
    async for chunk in chunks:
        for line in decoder.feed(chunk):
            yield line
    for line in decoder.flush():
        yield line


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
        backoff = Backoff(initial=base, cap=self.cap, jitter=0.5)
        return backoff.delay(attempt, rng or random.random)


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
