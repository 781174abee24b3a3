"""A Server-Sent Events response for a session's log: history, then live, with bounded memory.

The stream reads one batch at a time from the store and only reads the next once the previous one
was handed to the transport; a client that stops reading is disconnected after ``stall_seconds``
instead of being buffered without limit. A keep-alive comment goes out every ``keepalive_seconds``.
When the caller's credential dies (revoked, expired, its work item ended), the stream just ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from workyard.domain.models import Event
from workyard.linesafe import line_safe_json
from workyard.service.notifier import Notifier

__all__ = ["EventStreamResponse", "format_event"]

_MAX_BATCH = 100
_FIRST_BATCH = 4  # small until we know the events are small: a stalled client pins one batch
_BATCH_BYTES = 1024 * 1024

Fetch = Callable[[str | None, int], Awaitable[list[Event] | None]]


def format_event(event: Event, body: dict[str, Any]) -> bytes:
    """One SSE frame; its ``data`` holds no character a line splitter breaks on (linesafe)."""
    data = line_safe_json(body)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        fetch: Fetch,
        render: Callable[[Event], dict[str, Any]],
        hub: Notifier,
        draining: asyncio.Event,
        session_id: str,
        after: str | None,
        keepalive_seconds: float,
        stall_seconds: float = 30.0,
        credential: Callable[[], AbstractContextManager[asyncio.Future[None]]] | None = None,
    ) -> None:
        super().__init__(
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
            media_type=self.media_type,
        )
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._fetch, self._render, self._hub, self._draining = fetch, render, hub, draining
        self._session_id, self._after = session_id, after
        self._keepalive, self._stall = keepalive_seconds, stall_seconds
        self._credential = credential if credential is not None else _no_watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": self.raw_headers,
        }
        await send(start)
        disconnected = asyncio.create_task(_wait_disconnect(receive))
        try:
            with self._credential() as dead:  # the caller's credential died: just end the stream
                await self._pump(send, disconnected, dead)
        finally:
            disconnected.cancel()
            with contextlib.suppress(Exception):
                end: Message = {"type": "http.response.body", "body": b"", "more_body": False}
                await asyncio.wait_for(send(end), 1.0)

    async def _pump(
        self, send: Send, disconnected: asyncio.Task[None], dead: asyncio.Future[None]
    ) -> None:
        after = self._after
        size = _FIRST_BATCH
        while not disconnected.done() and not self._draining.is_set() and not dead.done():
            wake = self._hub.event(self._session_id)
            batch = await self._fetch(after, size)
            if batch is None:  # the session is gone: say so (the official SDK stops on it), end
                await self._write(send, _deleted_frame(self._session_id))
                return
            full = len(batch) >= size
            written = 0
            while batch:
                if dead.done():
                    return
                event = batch.pop(0)  # drop each event once it is handed over
                chunk = format_event(event, self._render(event))
                if not await self._write(send, chunk):
                    return
                written += len(chunk)
                after = event.id
            size = _next_size(size, written)
            if full:
                continue
            waiter = asyncio.ensure_future(wake.wait())
            drained = asyncio.ensure_future(self._draining.wait())
            try:
                waits: list[asyncio.Future[Any]] = [waiter, drained, disconnected, dead]
                done, _ = await asyncio.wait(
                    waits,
                    timeout=self._keepalive,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                waiter.cancel()
                drained.cancel()
            if not done and not await self._write(send, b": keep-alive\n\n"):
                return

    async def _write(self, send: Send, chunk: bytes) -> bool:
        """Hand a chunk to the transport; give up on a client that has stopped reading."""
        message: Message = {"type": "http.response.body", "body": chunk, "more_body": True}
        try:
            await asyncio.wait_for(send(message), self._stall)
        except (TimeoutError, OSError):
            return False
        return True


@contextlib.contextmanager
def _no_watch() -> Iterator[asyncio.Future[None]]:
    """No credential to watch: a future that never completes."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        yield future
    finally:
        future.cancel()


def _deleted_frame(session_id: str) -> bytes:
    """A terminal frame without an ``id:`` line (it is not part of the log)."""
    data = json.dumps({"type": "session.deleted", "session_id": session_id})
    return f"event: session.deleted\ndata: {data}\n\n".encode()


def _next_size(size: int, written: int) -> int:
    """Grow batches of small events, shrink batches of large ones (bytes per batch ~1 MiB)."""
    if written > _BATCH_BYTES:
        return max(1, size // 2)
    if written < _BATCH_BYTES // 4:
        return min(_MAX_BATCH, size * 2)
    return size


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
