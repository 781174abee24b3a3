"""``--pre-run`` and ``--post-run``: the operator's commands around each item.

A hook is a command line split like a shell would (``shlex``), run without a shell, supervised
like the command (it dies with the worker), with stdin at end of file; its output goes to the
worker's log (``work_… | pre-run: …``). It runs in the item's work directory (with ``--workdir``;
otherwise in the worker's directory), outside any sandbox, with the command's environment plus
``WORKYARD_WORKDIR`` and, for the post-run hook, ``WORKYARD_EXIT_CODE`` (empty when the command
has none) and ``WORKYARD_END_REASON``. It is killed (with its process group) after ``timeout``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workyard.worker.lines import drain, pump, shell_exit_code
from workyard.worker.logs import StatusLog
from workyard.worker.process import spawn

__all__ = ["END_REASONS", "Hook", "HookError", "HookResult", "parse_hook"]

# WORKYARD_END_REASON of the post-run hook.
END_REASONS = (
    "exited",  # the command exited by itself (any status)
    "stopped",  # a stop request ended it
    "shutdown",  # the worker was shutting down (SIGTERM / Ctrl-C)
    "lease_lost",  # the lease was lost; the command was killed
    "pre_run_failed",  # the pre-run hook failed; the command did not run
    "error",  # the command could not be run (a worker-side error)
    "worker_killed",  # found at start: the worker that ran it died (SIGKILL)
)


class HookError(Exception):
    """A hook that cannot be used (empty, not found, not executable)."""


@dataclass(frozen=True)
class HookResult:
    """How a hook ended: its exit code (as a shell reports it), or a timeout."""

    exit_code: int | None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def describe(self, name: str, timeout: float) -> str:
        if self.timed_out:
            return f"{name} hook timed out after {timeout:g}s"
        return f"{name} hook exited with status {self.exit_code}"


@dataclass(frozen=True)
class Hook:
    name: str  # "pre-run" or "post-run"
    argv: tuple[str, ...]
    timeout: float

    async def run(
        self, *, env: Mapping[str, str], cwd: Path | None, log: StatusLog, work_id: str
    ) -> HookResult:
        """Run the hook to its end (or its timeout); never raises but cancellation."""
        started = time.monotonic()
        try:
            child = await spawn(
                self.argv,
                env=env,
                cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            log.output(work_id, "stderr", f"{self.name}: cannot start: {exc.strerror or exc}")
            result = HookResult(126)
            log.hook_done(work_id, self.name, result.exit_code, False, time.monotonic() - started)
            return result
        assert child.proc.stdout is not None
        prefix = f"{self.name}: "
        lines = asyncio.create_task(
            pump(child.proc.stdout, lambda line: log.output(work_id, "stdout", prefix + line))
        )
        timed_out = False
        try:
            await asyncio.wait_for(child.proc.wait(), self.timeout)
        except TimeoutError:
            timed_out = True
        finally:
            code = await child.reap()
            await drain([lines])
        result = HookResult(None if timed_out else shell_exit_code(code), timed_out)
        log.hook_done(work_id, self.name, result.exit_code, timed_out, time.monotonic() - started)
        return result


def parse_hook(name: str, command: str, timeout: float) -> Hook:
    """``--pre-run``/``--post-run``'s value as a hook; :class:`HookError` when it cannot run."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise HookError(f"--{name} {command!r}: {exc}") from None
    if not argv:
        raise HookError(f"--{name}: the command is empty")
    program = argv[0]
    if os.sep in program:
        found = program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    else:
        found = shutil.which(program)
    if found is None:
        raise HookError(f"--{name} {command!r}: {program} is not an executable file")
    if timeout <= 0:
        raise HookError(f"--hook-timeout must be positive, not {timeout:g}")
    if os.sep in program:  # hooks run in the work directory: pin the worker's relative path
        argv = (os.path.abspath(program), *argv[1:])
    return Hook(name, argv, timeout)
