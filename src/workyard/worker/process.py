"""Start a command under its supervisor, in its own process group, tied to the worker's life.

See :mod:`workyard.worker.supervise`: the worker keeps the write end of a pipe for each child;
when the worker dies the pipe closes and the supervisor kills the child's whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from workyard.worker.supervise import supervisor_argv

__all__ = ["Child", "signal_group", "spawn"]


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pgid``, if anything is left in it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Child:
    """A supervised command: ``proc`` is its supervisor, the leader of its process group."""

    def __init__(self, proc: asyncio.subprocess.Process, lifeline: int) -> None:
        self.proc = proc
        self._lifeline = lifeline

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        signal_group(self.proc.pid, sig)

    async def reap(self) -> int:
        """Kill whatever is left in the group, wait for the supervisor; its return code."""
        self.signal(signal.SIGKILL)
        if self.proc.returncode is None:
            await self.proc.wait()
        self._release()
        assert self.proc.returncode is not None
        return self.proc.returncode

    def _release(self) -> None:
        if self._lifeline >= 0:
            with contextlib.suppress(OSError):
                os.close(self._lifeline)
            self._lifeline = -1


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    stdin: int | None = asyncio.subprocess.PIPE,
    stdout: int | None = asyncio.subprocess.PIPE,
    stderr: int | None = asyncio.subprocess.PIPE,
    ignore_signals: bool = False,
) -> Child:
    """Start ``argv`` under a supervisor (raises ``OSError`` when even that cannot start).

    ``ignore_signals``: ``argv`` starts with the worker's signals ignored (a sandbox launcher).
    """
    read_end, write_end = os.pipe()  # both close-on-exec; the supervisor gets read_end only
    try:
        proc = await asyncio.create_subprocess_exec(
            *supervisor_argv(read_end, argv, ignore_signals=ignore_signals),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            pass_fds=(read_end,),
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return Child(proc, write_end)
