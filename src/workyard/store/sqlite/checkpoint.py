"""WAL checkpoints off the event loop: a thread with its own connection.

The store's connection runs with ``wal_autocheckpoint=0``, so no commit ever copies the WAL back
into the database file on the event loop. This thread does it instead: a ``PASSIVE`` checkpoint
(it never waits for, or blocks, the writer) once ``batch`` rows have changed (about a thousand WAL
pages, like SQLite's own default) or a second after the last unsaved change. Under steady writes a
passive checkpoint rarely catches the WAL's very end, so SQLite would never start the WAL over and
it would keep growing: when more than ``restart_frames`` frames are in use after the passive pass,
a ``RESTART`` checkpoint copies the few frames written meanwhile (holding writers off for that
moment only) so the next commit starts the WAL from its beginning. A ``TRUNCATE`` follows only when
the WAL file has grown past ``truncate_bytes`` (after a burst, or while a long reader pinned it).
Checkpoints move committed pages; they never decide durability, so ``kill -9`` loses nothing a
commit acknowledged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["Checkpointer"]

log = logging.getLogger("workyard.store.sqlite")


class Checkpointer:
    def __init__(
        self,
        path: Path,
        commits: Callable[[], int] = lambda: 0,
        *,
        batch: int = 250,
        restart_frames: int = 1000,
        truncate_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._path = path
        self._wal = Path(str(path) + "-wal")
        self._commits = commits  # rows the store's connection has changed (read without locking)
        self._batch = batch
        self._restart_frames = restart_frames
        self._truncate_bytes = truncate_bytes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="workyard-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        done, since = self._commits(), time.monotonic()
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(0.05):
                now, commits = time.monotonic(), self._commits()
                if commits - done >= self._batch or (commits != done and now - since >= 1.0):
                    self.run_once(conn)
                    done, since = commits, now
        finally:
            conn.close()

    def run_once(self, conn: sqlite3.Connection) -> None:
        try:
            _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if frames >= self._restart_frames:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            if self._wal_size() > self._truncate_bytes:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:  # busy or away: the next round tries again
            log.debug("WAL checkpoint skipped: %s", exc)

    def _wal_size(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:
            return 0
