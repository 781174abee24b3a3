"""The supervisor between the worker and each command: no command outlives its worker.

The worker starts ``python -I -S supervise.py FD -- COMMAND…`` in a new session and process group
(``start_new_session``), holding the write end of a pipe whose read end is ``FD``. The supervisor
runs the command in that same group, waits for it and exits with its status (dying of the same
signal when the command was killed). Meanwhile it watches ``FD``: end of file means the worker is
gone (however it died, SIGKILL included, the kernel closes its end), and the supervisor then sends
SIGKILL to the whole process group — the command, its children and grandchildren, even those that
ignore or reset ``PR_SET_PDEATHSIG`` — and to itself.

Signals the worker sends to the group (the cancel signal, SIGINT on a ``user.interrupt``) reach the
command directly; the supervisor catches them with a handler that does nothing, so it stays to
report the exit status (a caught signal goes back to its default in the command, unlike an ignored
one). Under a sandbox the launcher (``bwrap``) is started with those signals ignored, so that it
outlives them, and ``env --default-signal`` restores them for the command it runs. This file
imports nothing from workyard: it runs with ``-I -S`` for a fast start.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
from collections.abc import Sequence
from types import FrameType

__all__ = ["IGNORING", "SIGNALS", "main", "supervisor_argv"]

SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


IGNORING = "--ignore-signals"


def supervisor_argv(fd: int, argv: Sequence[str], *, ignore_signals: bool = False) -> list[str]:
    """The command line that runs ``argv`` under a supervisor watching pipe ``fd``.

    ``ignore_signals``: start ``argv`` with the signals the worker sends ignored (a sandbox's
    launcher must survive them; it resets them to their defaults for the command inside).
    """
    flags = [IGNORING] if ignore_signals else []
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), *flags, str(fd), "--", *argv]


def _nothing(signum: int, frame: FrameType | None) -> None:
    """A caught signal: the command (in the same group) got it too and decides."""


def _start(argv: Sequence[str], lifeline: int, ignoring: bool) -> tuple[int, OSError | None]:
    """Fork and exec ``argv``; its pid, and the error when it could not be executed."""
    report_r, report_w = os.pipe()  # close-on-exec: end of file means the exec worked
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, until exec
        try:
            os.close(report_r)
            os.close(lifeline)
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_IGN if ignoring else signal.SIG_DFL)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.execvp(argv[0], list(argv))
        except OSError as exc:
            os.write(report_w, f"{exc.errno}:{exc.strerror}".encode())
        finally:
            os._exit(127)
    os.close(report_w)
    with os.fdopen(report_r, "rb") as report:
        failure = report.read()
    if not failure:
        return pid, None
    os.waitpid(pid, 0)
    number, _, message = failure.decode(errors="replace").partition(":")
    return pid, OSError(int(number), message)


def _wait(pid: int, lifeline: int, wake: int) -> int:
    """Wait for the command; kill the whole group if the worker's end of the pipe closes."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        ready, _, _ = select.select([lifeline, wake], [], [])
        if lifeline in ready and not os.read(lifeline, 1):
            os.killpg(os.getpgrp(), signal.SIGKILL)  # the worker is gone: so is everything here
        if wake in ready:
            os.read(wake, 512)


def _exit_like(returncode: int) -> int:
    """Exit with the command's status; killed by signal N → die of N as well."""
    if returncode >= 0:
        return returncode
    sig = -returncode
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    return 128 + sig  # not reached for a fatal signal


def _quiet_stdio() -> None:
    """Let go of the command's stdin and stdout: only the command holds them now."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


def main(args: Sequence[str]) -> int:
    ignoring = bool(args) and args[0] == IGNORING
    args = args[1:] if ignoring else args
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: supervise.py [--ignore-signals] FD -- COMMAND [ARGS]...\n")
        return 2
    lifeline, argv = int(args[0]), list(args[2:])
    for sig in SIGNALS:
        signal.signal(sig, _nothing)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # a SIGCHLD wakes the select() below: no lost exit
    signal.signal(signal.SIGCHLD, _nothing)
    pid, error = _start(argv, lifeline, ignoring)
    if error is not None:  # not found / not executable: answer like a shell would
        sys.stderr.write(f"cannot run {argv[0]}: {error.strerror or error}\n")
        return 127 if error.errno == errno.ENOENT else 126
    _quiet_stdio()
    return _exit_like(_wait(pid, lifeline, wake_r))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
