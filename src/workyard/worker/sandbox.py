"""``--sandbox bwrap``: run each command under bubblewrap.

What the command sees: the host's file system read-only (``--ro-bind / /``), its work directory
the only writable place, a private ``/tmp`` and ``/var/tmp``, a fresh ``/dev`` and ``/proc``, its
own PID namespace (it sees only its own processes; ``--unshare-pid``) and IPC namespace, and an
empty ``$HOME``, the worker's data directory and token file masked. ``--die-with-parent`` plus the
PID namespace: when bubblewrap dies (the supervisor kills its group when the worker dies), every
process inside dies with it. With ``network=False`` (``--sandbox-network off``) it gets its own
network namespace with only a loopback interface, which reaches nothing outside.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workyard.worker.supervise import SIGNALS

__all__ = ["SANDBOXES", "Bwrap", "SandboxError", "find_bwrap"]

SANDBOXES = ("none", "bwrap")


class SandboxError(Exception):
    """The sandbox cannot be used (bubblewrap missing, an unknown kind)."""


def find_bwrap() -> str:
    """The path of ``bwrap``, or a :class:`SandboxError` saying how to get it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError(
            "--sandbox bwrap needs bubblewrap: install it (Debian/Ubuntu: apt-get install "
            "bubblewrap) or run without --sandbox"
        )
    return path


@dataclass(frozen=True)
class Bwrap:
    """How to wrap a command: ``masked`` paths are hidden (directories emptied, files nulled)."""

    bwrap: str
    network: bool = True
    masked: tuple[Path, ...] = ()

    def wrap(self, argv: Sequence[str], workdir: Path) -> list[str]:
        """The bubblewrap command line that runs ``argv`` in ``workdir``."""
        args = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
        args += list(_masks(self.masked, workdir))
        args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
        args += ["--unshare-pid", "--unshare-ipc", "--die-with-parent"]
        if not self.network:
            args.append("--unshare-net")
        # bwrap is started with the worker's signals ignored (it must outlive a SIGTERM or a
        # SIGINT to its process group); the command gets them back at their defaults.
        restore = ",".join(sig.name.removeprefix("SIG") for sig in SIGNALS)
        return [*args, "--", "env", f"--default-signal={restore}", "--", *argv]


def _masks(paths: Iterable[Path], workdir: Path) -> Iterable[str]:
    for path in paths:
        if path == Path("/") or path == workdir:
            continue  # a parent of the work directory is emptied, then the directory bound back
        if path.is_dir():
            yield from ("--tmpfs", str(path))
        elif path.exists():
            yield from ("--ro-bind", "/dev/null", str(path))
