"""The command runner: a handler that runs one program per work item.

The program runs under a supervisor (:mod:`workyard.worker.supervise`) in its own session and
process group: a Ctrl-C at the worker's terminal does not reach it, the worker signals everything
it started at once, and when the worker dies — SIGKILL included — the supervisor kills the group.
Its environment is minimal (:mod:`workyard.worker.environ`): the item's ``WORKYARD_*`` variables
and credential, never the worker's token. Each line it writes to stdout or stderr goes to the
worker's log, prefixed with the work id.

With events (the default; see :mod:`workyard.worker.events`) its standard input is the session's
JSON on the first line, then the session's ``user.message``/``user.interrupt`` events, old and
live, one JSON per line, open until the item ends; each stdout line is posted as an event. Without
(``events=False``, ``--no-events``) its standard input is the session's JSON followed by a
newline, then end of file.

A stop request closes stdin, sends the cancel signal (SIGTERM) to the process group and SIGKILL
``grace`` seconds later; a worker shutdown closes stdin at once. Cancellation (a lost lease, a
forced shutdown) sends SIGKILL at once. When the program exits, whatever it left running in its
process group is killed too. Around it (see :class:`workyard.worker.item_env.ItemEnv`): a fresh
work directory, the pre-run and post-run hooks, the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from workyard.linesafe import line_safe_json
from workyard.worker.context import WorkContext
from workyard.worker.environ import EnvPolicy
from workyard.worker.events import (
    STDERR_TAIL,
    InputFeed,
    Outbox,
    exit_error_event,
    stdout_event,
)
from workyard.worker.hooks import Hook
from workyard.worker.item_env import End, ItemEnv, Surroundings
from workyard.worker.lines import LineSplitter, drain, pump, shell_exit_code
from workyard.worker.process import Child, spawn
from workyard.worker.sandbox import Bwrap
from workyard.worker.workdir import WorkDirs

__all__ = ["CommandHandler", "LineSplitter", "shell_exit_code"]

_EVENT_LINE = 900 * 1024  # with events, a stdout line (one event) may be this long
_FLUSH_SECONDS = 30.0  # after exit, how long the last events may take to be posted


class CommandHandler:
    """Run ``argv`` for each work item; the item's exit code is the program's.

    ``events`` (the default) speaks the event protocol of :mod:`workyard.worker.events` on the
    program's stdin and stdout; ``events=False`` gives it the session JSON alone and only logs
    its output. ``flush_timeout``: how long, after the program exits, its last events may take
    to be posted. ``environ``: the worker environment the program's is picked from (default
    ``os.environ``); ``pass_env`` names variables passed through, ``inherit_env`` passes them all
    (but the worker's token). ``workdirs``, ``pre_run``, ``post_run``, ``sandbox``: see
    :class:`~workyard.worker.item_env.Surroundings`. ``cancel_signal``: sent on a stop.
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
        pass_env: Sequence[str] = (),
        inherit_env: bool = False,
        workdirs: WorkDirs | None = None,
        pre_run: Hook | None = None,
        post_run: Hook | None = None,
        sandbox: Bwrap | None = None,
        cancel_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        if not argv:
            raise ValueError("a command is required")
        if sandbox is not None and workdirs is None:
            raise ValueError("a sandbox needs work directories")
        self.argv = list(argv)
        self.grace = grace
        self.events = events
        self.flush_timeout = flush_timeout
        self.cancel_signal = cancel_signal
        self.sandbox = sandbox
        self.surroundings = Surroundings(
            EnvPolicy(tuple(pass_env), inherit_env), environ, workdirs, pre_run, post_run
        )

    def environment(self, ctx: WorkContext) -> dict[str, str]:
        """The program's environment for ``ctx`` (see :mod:`workyard.worker.environ`)."""
        return self.surroundings.environment(ctx, events=self.events)

    async def __call__(self, ctx: WorkContext) -> int | None:
        item = ItemEnv(self.surroundings, ctx, events=self.events)
        return await item.run(self._command)

    async def _command(self, ctx: WorkContext, item: ItemEnv, end: End) -> int:
        outbox = Outbox(ctx) if self.events else None
        if outbox is not None:
            outbox.start()
        try:
            code, stderr_tail = await self._run(ctx, item, outbox, end)
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

    async def _run(
        self, ctx: WorkContext, item: ItemEnv, outbox: Outbox | None, end: End
    ) -> tuple[int, list[str]]:
        """Run the program to its end: its exit status and the last lines of its stderr."""
        argv = self.argv
        if self.sandbox is not None and item.workdir is not None:
            argv = self.sandbox.wrap(argv, item.workdir)
        try:
            child = await spawn(
                argv, env=item.env, cwd=item.workdir, ignore_signals=self.sandbox is not None
            )
        except OSError as exc:  # the supervisor itself could not start
            message = f"cannot run {self.argv[0]}: {exc.strerror or exc}"
            ctx.output("stderr", message)
            end.code = 126
            return 126, [message]
        proc = child.proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        tail: deque[str] = deque(maxlen=STDERR_TAIL)
        if outbox is None:
            feeder = asyncio.create_task(_feed(proc.stdin, ctx))
            stdout = pump(proc.stdout, _logged(ctx, "stdout"))
        else:
            feed = InputFeed(proc.stdin, ctx, lambda: child.signal(signal.SIGINT))
            feeder = asyncio.create_task(feed.run())
            stdout = pump(proc.stdout, _logged(ctx, "stdout", _to_outbox(outbox)), _EVENT_LINE)
        pumps = [
            asyncio.create_task(stdout),
            asyncio.create_task(pump(proc.stderr, _logged(ctx, "stderr", tail.append))),
        ]
        try:
            await self._supervise(child, ctx, feeder)
        finally:
            end.code = shell_exit_code(await child.reap())
            await _stop_feeding(feeder, ctx)
            await drain(pumps)
        return end.code, list(tail)

    async def _supervise(self, child: Child, ctx: WorkContext, feeder: asyncio.Task[None]) -> None:
        exited = asyncio.create_task(child.proc.wait())
        stop = asyncio.create_task(ctx.stopping.wait())
        eof = asyncio.create_task(ctx.input_closed.wait())
        try:
            waiting = {exited, stop, eof}
            while not (exited.done() or stop.done()):
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if eof in done:
                    feeder.cancel()  # the worker is shutting down: end of input, at once
            if not exited.done():
                feeder.cancel()  # closes stdin: end of input
                child.signal(self.cancel_signal)
                finished, _ = await asyncio.wait([exited], timeout=self.grace)
                if not finished:
                    ctx.log.killed(ctx.work_id, self.grace)
                    child.signal(signal.SIGKILL)
            await exited
        finally:
            for task in (stop, exited, eof):
                task.cancel()


def _logged(
    ctx: WorkContext, stream: str, sink: Callable[[str], None] | None = None
) -> Callable[[str], None]:
    def line(text: str) -> None:
        ctx.output(stream, text)
        if sink is not None:
            sink(text)

    return line


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


async def _feed(stdin: asyncio.StreamWriter, ctx: WorkContext) -> None:
    """Write the session's JSON to the program's stdin, then close it."""
    data = line_safe_json(ctx.session.raw, separators=(", ", ": ")).encode() + b"\n"
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
    finally:
        stdin.close()
