"""The command runner: a handler that runs one program per work item.

The program runs in its own session and process group (``start_new_session=True``), so a Ctrl-C
at the worker's terminal does not reach it and the worker can signal everything it started at
once. Its environment adds ``WORKYARD_URL``, ``WORKYARD_TOKEN``, ``WORKYARD_ENVIRONMENT_ID``,
``WORKYARD_WORK_ID``, ``WORKYARD_SESSION_ID``, ``WORKYARD_WORKER_ID`` and ``WORKYARD_EVENTS``;
each line it writes to stdout or stderr goes to the worker's log, prefixed with the work id.

With events (the default; see :mod:`workyard.worker.events`) its standard input is the session's
JSON on the first line, then the session's ``user.message``/``user.interrupt`` events, old and
live, one JSON per line, open until the item ends; each stdout line is posted as an event. Without
(``events=False``, ``--no-events``) its standard input is the session's JSON followed by a
newline, then end of file.

A stop request closes stdin, sends SIGTERM to the process group and SIGKILL ``grace`` seconds later.
Cancellation (a lost lease, a forced shutdown) sends SIGKILL at once. When the program exits,
whatever it left running in its process group is killed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from workyard.client._base import API_PREFIX
from workyard.linesafe import line_safe_json
from workyard.worker.context import WorkContext
from workyard.worker.events import (
    STDERR_TAIL,
    InputFeed,
    Outbox,
    exit_error_event,
    stdout_event,
)

__all__ = ["CommandHandler", "LineSplitter", "shell_exit_code"]

_CHUNK = 65536
_MAX_LINE = 65536
_EVENT_LINE = 900 * 1024  # with events, a stdout line (one event) may be this long
_OUTPUT_DRAIN_SECONDS = 5.0  # after exit, how long a pipe held open by an escaped child may stay
_FLUSH_SECONDS = 30.0  # after exit, how long the last events may take to be posted


def shell_exit_code(returncode: int) -> int:
    """A process status as a shell reports it: killed by signal N → 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class LineSplitter:
    """Splits a byte stream into text lines; a line longer than ``max_line`` bytes is cut."""

    def __init__(self, max_line: int = _MAX_LINE) -> None:
        self._buffer = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[str]:
        """The complete lines in ``data`` (and what came before it)."""
        self._buffer.extend(data)
        lines: list[str] = []
        while True:
            end = self._buffer.find(b"\n", 0, self._max_line + 1)
            if end >= 0:
                lines.append(_decode(self._buffer[:end]))
                del self._buffer[: end + 1]
            elif len(self._buffer) > self._max_line:
                lines.append(_decode(self._buffer[: self._max_line]))
                del self._buffer[: self._max_line]
            else:
                return lines

    def flush(self) -> list[str]:
        """The last, unterminated line (if any)."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return [_decode(rest)] if rest else []


def _decode(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", errors="replace").removesuffix("\r")


class CommandHandler:
    """Run ``argv`` for each work item; the item's exit code is the program's.

    ``events`` (the default) speaks the event protocol of :mod:`workyard.worker.events` on the
    program's stdin and stdout; ``events=False`` gives it the session JSON alone and only logs
    its output. ``flush_timeout``: how long, after the program exits, its last events may take
    to be posted.
    """

    lease_lost_action = "killed command"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        grace: float = 30.0,
        environ: Mapping[str, str] | None = None,
        events: bool = True,
        flush_timeout: float = _FLUSH_SECONDS,
    ) -> None:
        if not argv:
            raise ValueError("a command is required")
        self.argv = list(argv)
        self.grace = grace
        self.events = events
        self.flush_timeout = flush_timeout
        self._environ = environ

    def environment(self, ctx: WorkContext) -> dict[str, str]:
        """The program's environment: the worker's, plus the item's ``WORKYARD_*`` variables
        (and ``PYTHONUNBUFFERED=1`` with events, unless set: each line is an event at once)."""
        env = dict(os.environ if self._environ is None else self._environ)
        config = ctx.client.config
        env["WORKYARD_URL"] = config.base_url.removesuffix(API_PREFIX)
        if config.token:
            env["WORKYARD_TOKEN"] = config.token
        env["WORKYARD_ENVIRONMENT_ID"] = ctx.environment_id
        env["WORKYARD_WORK_ID"] = ctx.work_id
        env["WORKYARD_SESSION_ID"] = ctx.session.id
        env["WORKYARD_WORKER_ID"] = ctx.worker_id
        env["WORKYARD_EVENTS"] = "1" if self.events else "0"
        if self.events:
            env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    async def __call__(self, ctx: WorkContext) -> int:
        outbox = Outbox(ctx) if self.events else None
        if outbox is not None:
            outbox.start()
        try:
            code, stderr_tail = await self._run(ctx, outbox)
            if outbox is not None:
                if code != 0:
                    outbox.put(exit_error_event(code, stderr_tail))
                await outbox.close(self.flush_timeout)
                if outbox.dropped:
                    ctx.log.events_dropped(ctx.work_id, outbox.dropped)
            return code
        finally:
            if outbox is not None:
                outbox.cancel()

    async def _run(self, ctx: WorkContext, outbox: Outbox | None) -> tuple[int, list[str]]:
        """Run the program to its end: its exit status and the last lines of its stderr."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.environment(ctx),
                start_new_session=True,
            )
        except OSError as exc:  # not found / not executable: answer like a shell would
            message = f"cannot run {self.argv[0]}: {exc.strerror or exc}"
            ctx.output("stderr", message)
            return (127 if isinstance(exc, FileNotFoundError) else 126), [message]
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        tail: deque[str] = deque(maxlen=STDERR_TAIL)
        if outbox is None:
            feeder = asyncio.create_task(_feed(proc.stdin, ctx))
            stdout = _pump(proc.stdout, "stdout", ctx)
        else:
            feed = InputFeed(proc.stdin, ctx, lambda: _signal_group(proc.pid, signal.SIGINT))
            feeder = asyncio.create_task(feed.run())
            stdout = _pump(proc.stdout, "stdout", ctx, _to_outbox(outbox), _EVENT_LINE)
        pumps = [
            asyncio.create_task(stdout),
            asyncio.create_task(_pump(proc.stderr, "stderr", ctx, tail.append)),
        ]
        try:
            returncode = await self._supervise(proc, ctx, feeder)
        finally:
            await _reap(proc)
            await _stop_feeding(feeder, ctx)
            await _drain(pumps)
        return shell_exit_code(returncode), list(tail)

    async def _supervise(
        self, proc: asyncio.subprocess.Process, ctx: WorkContext, feeder: asyncio.Task[None]
    ) -> int:
        exited = asyncio.create_task(proc.wait())
        stop = asyncio.create_task(ctx.stopping.wait())
        try:
            await asyncio.wait([exited, stop], return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                feeder.cancel()  # closes stdin: end of input
                _signal_group(proc.pid, signal.SIGTERM)
                done, _ = await asyncio.wait([exited], timeout=self.grace)
                if not done:
                    ctx.log.killed(ctx.work_id, self.grace)
                    _signal_group(proc.pid, signal.SIGKILL)
            return await exited
        finally:
            stop.cancel()
            exited.cancel()


def _to_outbox(outbox: Outbox) -> Callable[[str], None]:
    def put(line: str) -> None:
        event = stdout_event(line)
        if event is not None:
            outbox.put(event)

    return put


async def _stop_feeding(feeder: asyncio.Task[None], ctx: WorkContext) -> None:
    """Stop writing to stdin (closing it); a bug in the feeder is logged, not lost."""
    feeder.cancel()
    await asyncio.wait([feeder])
    if not feeder.cancelled() and (error := feeder.exception()) is not None:
        ctx.log.failed(ctx.work_id, "feeding stdin", error)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Kill the process group (the program, if still running, and anything it left behind)."""
    _signal_group(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        await proc.wait()


async def _feed(stdin: asyncio.StreamWriter, ctx: WorkContext) -> None:
    """Write the session's JSON to the program's stdin, then close it."""
    data = line_safe_json(ctx.session.raw, separators=(", ", ": ")).encode() + b"\n"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    stdin.close()


async def _pump(
    stream: asyncio.StreamReader,
    name: str,
    ctx: WorkContext,
    sink: Callable[[str], None] | None = None,
    max_line: int = _MAX_LINE,
) -> None:
    """Log each line of ``stream`` (and hand it to ``sink``) until end of file."""
    splitter = LineSplitter(max_line)
    while chunk := await stream.read(_CHUNK):
        for line in splitter.feed(chunk):
            _line(ctx, name, line, sink)
    for line in splitter.flush():
        _line(ctx, name, line, sink)


def _line(ctx: WorkContext, name: str, line: str, sink: Callable[[str], None] | None) -> None:
    ctx.output(name, line)
    if sink is not None:
        sink(line)


async def _drain(pumps: list[asyncio.Task[None]]) -> None:
    """Let the output pumps reach end of file, within reason; then stop them."""
    _, pending = await asyncio.wait(pumps, timeout=_OUTPUT_DRAIN_SECONDS)
    for pump in pending:
        pump.cancel()
    if pending:
        await asyncio.wait(pending)
