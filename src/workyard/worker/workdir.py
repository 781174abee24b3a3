"""``--workdir DIR``: a fresh ``DIR/<work_id>`` per item, removed when the item ends.

Next to each work directory the worker keeps a marker, ``DIR/.<work_id>.json``, with the item's
ids and the worker process that owns it (pid and start time, so that a reused pid is not mistaken
for it). A worker killed with SIGKILL leaves its markers behind; the next worker started on the
same ``DIR`` finds them (:meth:`WorkDirs.orphans`), runs the post-run hook for each and removes
them. The marker lives outside the work directory, where the command cannot rewrite it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Marker", "WorkDirError", "WorkDirs", "process_identity"]


class WorkDirError(Exception):
    """The work directory cannot be used (not creatable, not writable)."""


def process_identity(pid: int) -> str | None:
    """``<pid>:<start time>`` of a live process (``None`` when there is none)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return f"{pid}:?"
    fields = stat.rsplit(")", 1)[-1].split()
    if fields and fields[0] == "Z":
        return None  # a zombie is dead already
    return f"{pid}:{fields[19] if len(fields) > 19 else '?'}"


@dataclass(frozen=True)
class Marker:
    """What the worker records about a work directory while its item runs."""

    work_id: str
    session_id: str
    environment_id: str
    worker_id: str
    owner: str  # process_identity of the worker
    path: str


class WorkDirs:
    """The work directories under ``root`` (created if missing)."""

    def __init__(self, root: Path, *, keep: bool = False) -> None:
        self.root = root.absolute()
        self.keep = keep
        self._me = process_identity(os.getpid()) or f"{os.getpid()}:?"

    def check(self) -> None:
        """Create ``root`` if needed and prove it is writable, or raise :class:`WorkDirError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise WorkDirError(
                f"--workdir {self.root}: cannot create or write there: {exc.strerror or exc}"
            ) from None

    def path(self, work_id: str) -> Path:
        return self.root / work_id

    def existing(self, work_id: str) -> Path | None:
        """The item's directory, if it is there."""
        path = self.path(work_id)
        return path if path.is_dir() else None

    def create(self, work_id: str, session_id: str, environment_id: str, worker_id: str) -> Path:
        """A fresh, empty directory for the item (anything left there before is removed)."""
        path = self.path(work_id)
        marker = Marker(work_id, session_id, environment_id, worker_id, self._me, str(path))
        self._marker(work_id).write_text(json.dumps(asdict(marker)), encoding="utf-8")
        _remove(path)
        path.mkdir(mode=0o700)
        return path

    def finish(self, work_id: str) -> None:
        """The item ended: remove its directory (unless kept) and its marker."""
        if not self.keep:
            _remove(self.path(work_id))
        with contextlib.suppress(FileNotFoundError):
            self._marker(work_id).unlink()

    def orphans(self) -> list[Marker]:
        """Markers left by worker processes that no longer run."""
        found: list[Marker] = []
        for path in sorted(self.root.glob(".work_*.json")):
            try:
                marker = Marker(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            pid = int(marker.owner.split(":", 1)[0]) if marker.owner[:1].isdigit() else 0
            if pid <= 0 or process_identity(pid) != marker.owner:
                found.append(marker)
        return found

    def _marker(self, work_id: str) -> Path:
        return self.root / f".{work_id}.json"


def _remove(path: Path) -> None:
    """Remove a tree, even one whose directories the command made read-only."""

    def writable(func: object, name: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
                shutil.rmtree(name, ignore_errors=True)
            else:
                os.unlink(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=writable)
