"""The command's event protocol: session events in on stdin, events out from stdout.

In: the first stdin line is the session object (as without events); then each ``user.message``
and ``user.interrupt`` already in the session's log, oldest first; then each new one as it is
appended (followed over Server-Sent Events, resumed after a dropped connection). A live
``user.interrupt`` also sends SIGINT to the command's process group (just before its line is
written). Stdin is closed when the
item ends (or the command is asked to stop).

Out: each stdout line becomes an event (see :func:`stdout_event`), posted in order by an
:class:`Outbox`, at most one request per 100 ms per item. A command that exits non-zero also
posts a ``session.error`` with its exit status and the last lines of its stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from workyard.client import (
    INPUT_EVENT_TYPES,
    WORKER_EVENT_TYPES,
    APIError,
    BadRequestError,
    Event,
    text_blocks,
)
from workyard.linesafe import line_safe_json
from workyard.worker.backoff import Backoff
from workyard.worker.context import WorkContext
from workyard.worker.item import TRANSIENT_ERRORS

__all__ = [
    "MAX_BATCH",
    "POST_INTERVAL",
    "STDERR_TAIL",
    "InputFeed",
    "Outbox",
    "exit_error_event",
    "rejected_index",
    "stdout_event",
]

MAX_BATCH = 100  # events per request (the API's limit)
MAX_BATCH_BYTES = 4 * 1024 * 1024  # JSON per request, well under the server's body limit
POST_INTERVAL = 0.1  # seconds: at most one request per interval per item
STDERR_TAIL = 20  # stderr lines quoted in the session.error of a failed command
_BACKOFF = Backoff(initial=0.5, cap=10.0)
_INDEX = re.compile(r"^events\[(\d+)\]")
_SIGNALS = {130: "SIGINT", 137: "SIGKILL", 143: "SIGTERM"}


def stdout_event(line: str) -> dict[str, Any] | None:
    """The event a stdout line stands for, or ``None`` for a blank line.

    A JSON object whose ``type`` is a worker event type (``agent.message``, ``agent.tool_use``,
    ``agent.tool_result``, ``session.error``, ``system.message``) is that event, as written. Any
    other line (plain text, other JSON) is an ``agent.message`` with the line as one text block.
    """
    if not line.strip():
        return None
    if line.lstrip().startswith("{"):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("type") in WORKER_EVENT_TYPES:
            return value
    return {"type": "agent.message", "content": text_blocks(line)}


def exit_error_event(exit_code: int, stderr_tail: Iterable[str]) -> dict[str, Any]:
    """The ``session.error`` of a command that exited with ``exit_code`` (non-zero): the
    message names the status and quotes the stderr tail; ``exit_code`` and ``stderr`` (a list of
    lines) are in the error object too."""
    message = f"the command exited with status {exit_code}"
    if exit_code in _SIGNALS:
        message += f" ({_SIGNALS[exit_code]})"
    lines = list(stderr_tail)
    if lines:
        message += "; last stderr lines:\n" + "\n".join(lines)
    error = {"message": message, "exit_code": exit_code, "stderr": lines}
    return {"type": "session.error", "error": error}


def rejected_index(error: APIError, size: int) -> int | None:
    """Which event of a batch of ``size`` a 400 names (``param: "events[N]…"``), if any."""
    match = _INDEX.match(error.param or "")
    index = int(match.group(1)) if match else -1
    return index if 0 <= index < size else None


def _size(event: dict[str, Any]) -> int:
    return len(json.dumps(event, ensure_ascii=False).encode())


class Outbox:
    """Posts one item's events in order: batches of at most :data:`MAX_BATCH`, at most one
    request per ``interval`` seconds. Transient failures are retried (with backoff, until the
    item ends); an event the server refuses (400 naming it) is logged and dropped."""

    def __init__(self, ctx: WorkContext, *, interval: float = POST_INTERVAL) -> None:
        self._ctx = ctx
        self._interval = interval
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.posted = 0
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"events {self._ctx.work_id}")

    def put(self, event: dict[str, Any]) -> None:
        self._pending.append(event)
        self._wake.set()

    async def close(self, within: float) -> None:
        """Post what is pending (waiting up to ``within`` seconds), then stop."""
        self._closing = True
        self._wake.set()
        task = self._task
        if task is None:
            return
        done, _ = await asyncio.wait([task], timeout=within)
        if not done:
            self.dropped += len(self._pending)
            self.cancel()
        elif not task.cancelled() and (error := task.exception()) is not None:
            self.dropped += len(self._pending)
            self._ctx.log.failed(self._ctx.work_id, "posting events", error)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
            started = loop.time()
            await self._post(self._take())
            rest = self._interval - (loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    def _take(self) -> list[dict[str, Any]]:
        batch = [self._pending.popleft()]
        size = _size(batch[0])
        while self._pending and len(batch) < MAX_BATCH:
            size += _size(self._pending[0])
            if size > MAX_BATCH_BYTES:
                break
            batch.append(self._pending.popleft())
        return batch

    async def _post(self, batch: list[dict[str, Any]]) -> None:
        ctx, attempt = self._ctx, 0
        while batch:
            try:
                await ctx.client.sessions.events.send(ctx.session.id, batch)
            except TRANSIENT_ERRORS as exc:
                delay = _BACKOFF.delay(attempt)
                attempt += 1
                ctx.log.retrying(ctx.work_id, "posting events", exc, delay)
                await asyncio.sleep(delay)
                continue
            except BadRequestError as exc:
                index = rejected_index(exc, len(batch))
                if index is not None:
                    rejected = batch.pop(index)
                    ctx.log.failed(ctx.work_id, f"posting event {rejected.get('type')}", exc)
                    self.dropped += 1
                    continue
                ctx.log.failed(ctx.work_id, f"posting {len(batch)} event(s)", exc)
            except APIError as exc:  # 401, 403, 404 (the session is gone)…
                ctx.log.failed(ctx.work_id, f"posting {len(batch)} event(s)", exc)
            else:
                self.posted += len(batch)
                return
            self.dropped += len(batch)
            return


class InputFeed:
    """Writes the session and its input events to the command's stdin, one JSON per line.

    ``interrupt`` is called for each live ``user.interrupt`` (not for those already in the log).
    A command that closes its stdin stops getting lines, but its interrupts still arrive.
    """

    def __init__(
        self, stdin: asyncio.StreamWriter, ctx: WorkContext, interrupt: Callable[[], None]
    ) -> None:
        self._stdin = stdin
        self._ctx = ctx
        self._interrupt = interrupt
        self._open = True
        self.last_event_id: str | None = None

    async def run(self) -> None:
        """Feed until cancelled (the item ended) or the session's events cannot be read."""
        try:
            await self._write(self._ctx.session.raw)
            await self._history()
            await self._live()
        except APIError as exc:  # no events endpoint, the session was deleted, 403…
            self._ctx.log.failed(self._ctx.work_id, "reading session events", exc)
        finally:
            self._close()

    async def _history(self) -> None:
        ctx, attempt = self._ctx, 0
        while True:
            try:
                async for event in ctx.client.sessions.events.list_all(
                    ctx.session.id, types=sorted(INPUT_EVENT_TYPES), after_id=self.last_event_id
                ):
                    if event.type in INPUT_EVENT_TYPES:
                        await self._write(event.raw)
                    self.last_event_id = event.id
                return
            except TRANSIENT_ERRORS as exc:
                delay = _BACKOFF.delay(attempt)
                attempt += 1
                ctx.log.retrying(ctx.work_id, "reading session events", exc, delay)
                await asyncio.sleep(delay)

    async def _live(self) -> None:
        ctx = self._ctx
        stream = ctx.client.sessions.events.stream(
            ctx.session.id, self.last_event_id, on_reconnect=self._reconnecting
        )
        async with contextlib.aclosing(stream):
            async for event in stream:
                if event.type in INPUT_EVENT_TYPES:
                    await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        if event.type == "user.interrupt":
            # The signal goes first, then the line: a program that got the signal just before
            # blocking in read() (a race no program can close) is woken up by the line.
            self._ctx.log.interrupted(self._ctx.work_id, event.id)
            self._interrupt()
        await self._write(event.raw)

    def _reconnecting(self, reason: str, delay: float) -> None:
        self._ctx.log.events_reconnecting(self._ctx.work_id, reason, delay)

    def _line(self, value: dict[str, Any]) -> bytes:
        return line_safe_json(value, separators=(", ", ": ")).encode() + b"\n"

    async def _write(self, value: dict[str, Any]) -> None:
        if self._open:
            self._stdin.write(self._line(value))
            await self._drain()

    async def _drain(self) -> None:
        if not self._open:
            return
        try:
            await self._stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self._open = False  # the command closed its stdin (or exited)

    def _close(self) -> None:
        self._open = False
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            self._stdin.close()
