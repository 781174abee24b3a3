"""The command runner: a handler that runs one program per work item.

The program runs in its own session and process group (``start_new_session=True``), so a Ctrl-C
at the worker's terminal does not reach it and the worker can signal everything it started at
once. Its environment adds ``WORKYARD_URL``, ``WORKYARD_TOKEN``, ``WORKYARD_ENVIRONMENT_ID``,
``WORKYARD_WORK_ID``, ``WORKYARD_SESSION_ID`` and ``WORKYARD_WORKER_ID``; its standard input is
the session's JSON followed by a newline, then end of file; each line it writes to stdout or
stderr goes to the worker's log, prefixed with the work id.

A stop request sends SIGTERM to the process group and SIGKILL ``grace`` seconds later.
Cancellation (a lost lease, a forced shutdown) sends SIGKILL at once. When the program exits,
whatever it left running in its process group is killed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence

from workyard.client._base import API_PREFIX
from workyard.worker.context import WorkContext

__all__ = ["CommandHandler", "LineSplitter", "shell_exit_code"]

_CHUNK = 65536
_MAX_LINE = 65536
_OUTPUT_DRAIN_SECONDS = 5.0  # after exit, how long a pipe held open by an escaped child may stay


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
    """Run ``argv`` for each work item; the item's exit code is the program's."""

    lease_lost_action = "killed command"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        grace: float = 30.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("a command is required")
        self.argv = list(argv)
        self.grace = grace
        self._environ = environ

    def environment(self, ctx: WorkContext) -> dict[str, str]:
        """The program's environment: the worker's, plus the item's ``WORKYARD_*`` variables."""
        env = dict(os.environ if self._environ is None else self._environ)
        config = ctx.client.config
        env["WORKYARD_URL"] = config.base_url.removesuffix(API_PREFIX)
        if config.token:
            env["WORKYARD_TOKEN"] = config.token
        env["WORKYARD_ENVIRONMENT_ID"] = ctx.environment_id
        env["WORKYARD_WORK_ID"] = ctx.work_id
        env["WORKYARD_SESSION_ID"] = ctx.session.id
        env["WORKYARD_WORKER_ID"] = ctx.worker_id
        return env

    async def __call__(self, ctx: WorkContext) -> int:
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
            ctx.output("stderr", f"cannot run {self.argv[0]}: {exc.strerror or exc}")
            return 127 if isinstance(exc, FileNotFoundError) else 126
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        feeder = asyncio.create_task(_feed(proc.stdin, ctx))
        pumps = [
            asyncio.create_task(_pump(proc.stdout, "stdout", ctx)),
            asyncio.create_task(_pump(proc.stderr, "stderr", ctx)),
        ]
        try:
            returncode = await self._supervise(proc, ctx)
        finally:
            await _reap(proc)
            feeder.cancel()
            await _drain(pumps)
        return shell_exit_code(returncode)

    async def _supervise(self, proc: asyncio.subprocess.Process, ctx: WorkContext) -> int:
        exited = asyncio.create_task(proc.wait())
        stop = asyncio.create_task(ctx.stopping.wait())
        try:
            await asyncio.wait([exited, stop], return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                _signal_group(proc.pid, signal.SIGTERM)
                done, _ = await asyncio.wait([exited], timeout=self.grace)
                if not done:
                    ctx.log.killed(ctx.work_id, self.grace)
                    _signal_group(proc.pid, signal.SIGKILL)
            return await exited
        finally:
            stop.cancel()
            exited.cancel()


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
    data = json.dumps(ctx.session.raw, ensure_ascii=False).encode() + b"\n"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    stdin.close()


async def _pump(stream: asyncio.StreamReader, name: str, ctx: WorkContext) -> None:
    splitter = LineSplitter()
    while chunk := await stream.read(_CHUNK):
        for line in splitter.feed(chunk):
            ctx.output(name, line)
    for line in splitter.flush():
        ctx.output(name, line)


async def _drain(pumps: list[asyncio.Task[None]]) -> None:
    """Let the output pumps reach end of file, within reason; then stop them."""
    _, pending = await asyncio.wait(pumps, timeout=_OUTPUT_DRAIN_SECONDS)
    for pump in pending:
        pump.cancel()
    if pending:
        await asyncio.wait(pending)
