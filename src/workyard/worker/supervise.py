"""The supervisor between the worker and each command: no command outlives its worker.

The worker starts ``python -I -S supervise.py FD -- COMMAND…`` in a new session and process group
(``start_new_session``), holding the write end of a pipe whose read end is ``FD``. The supervisor
runs the command in that same group, waits for it and exits with its status (dying of the same
signal when the command was killed). A thread reads ``FD``: end of file means the worker is gone
(however it died, SIGKILL included, the kernel closes its end), and the supervisor then sends
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

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType

__all__ = ["IGNORING", "SIGNALS", "main", "supervisor_argv"]

SIGNALS = _CAUGHT = (
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


def _ignore_signals() -> None:
    for sig in _CAUGHT:
        signal.signal(sig, signal.SIG_IGN)


def _nothing(signum: int, frame: FrameType | None) -> None:
    """A caught signal: the command (in the same group) got it too and decides."""


def _watch(fd: int) -> None:
    """Block until the worker's end of the pipe closes, then kill the whole group."""
    while True:
        try:
            data = os.read(fd, 1)
        except InterruptedError:  # pragma: no cover - PEP 475 retries this already
            continue
        except OSError:
            data = b""
        if not data:
            os.killpg(os.getpgrp(), signal.SIGKILL)
            return


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
    fd, argv = int(args[0]), list(args[2:])
    for sig in _CAUGHT:
        signal.signal(sig, _nothing)
    threading.Thread(target=_watch, args=(fd,), daemon=True).start()
    try:
        child = subprocess.Popen(argv, preexec_fn=_ignore_signals if ignoring else None)
    except OSError as exc:  # not found / not executable: answer like a shell would
        sys.stderr.write(f"cannot run {argv[0]}: {exc.strerror or exc}\n")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    _quiet_stdio()
    return _exit_like(child.wait())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
