"""Work items as the database holds them, so an item this server just wrote is not read back.

Safe because the server's connection is the only writer of work rows it does not see: every row
it writes or reads through the store is remembered exactly as the database returns it, and the
whole cache is dropped when anything else may have changed a row —

* another connection committed (``PRAGMA data_version`` moved: CLI commands, ``workyard db``
  tools, a second process on the same file), or
* this connection changed rows the cache was not told about (``total_changes`` moved past the
  count recorded after the last write it was told about).

``PRAGMA data_version`` is asked once per request: :meth:`WorkCache.data_version` reads it (the
credential check does, first thing in every request) and the answer is reused until the event
loop's next turn. A request whose bytes arrived after another process committed is handled in a
later turn than that commit, so it still sees the commit. A compare-and-set that misses (someone
else changed the row) drops both the reused answer and the cache, so a retry reads afresh.
"""

from __future__ import annotations

import asyncio
import sqlite3

from workyard.domain.models import WorkItem
from workyard.store.base import StoreUnavailableError

__all__ = ["WorkCache"]


class WorkCache:
    def __init__(self, conn: sqlite3.Connection, limit: int = 4096) -> None:
        self._conn = conn
        self._limit = limit
        self._items: dict[str, WorkItem] = {}
        self._turn_version: int | None = None  # this loop turn's answer, if asked already
        self._data_version = self._read_version()
        self._changes = conn.total_changes

    def _read_version(self) -> int:
        """Changes only when another connection commits to the file (about a microsecond)."""
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    def data_version(self) -> int:
        """``PRAGMA data_version`` now; the answer is reused by :meth:`get` until the next turn."""
        version = self._read_version()
        if self._turn_version is None:
            try:
                asyncio.get_running_loop().call_soon(self._end_turn)
            except RuntimeError:  # no loop (a synchronous caller): nothing to reuse it in
                return version
        self._turn_version = version
        return version

    def _end_turn(self) -> None:
        self._turn_version = None

    def _current_version(self) -> int:
        version = self._turn_version
        return self.data_version() if version is None else version

    def get(self, work_id: str) -> WorkItem | None:
        """The item, if cached and provably current; ``None`` means "ask the database"."""
        if not self._items:
            return None
        self.check_own()
        version = self._current_version()
        if version != self._data_version:
            self._data_version = version
            self._items.clear()
            return None
        return self._items.get(work_id)

    def check_own(self) -> None:
        """Forget everything if this connection wrote rows the cache was not told about."""
        if self._conn.total_changes != self._changes:
            self._items.clear()
            self._changes = self._conn.total_changes

    def put(self, items: list[WorkItem]) -> None:
        """Remember rows just committed (or read) by this connection; call right after."""
        for item in items:
            self._items.pop(item.id, None)
            self._items[item.id] = item
        while len(self._items) > self._limit:
            del self._items[next(iter(self._items))]
        self._changes = self._conn.total_changes

    def missed(self) -> None:
        """A compare-and-set found another version: someone else wrote; forget and ask again."""
        self._turn_version = None
        self.clear()

    def clear(self) -> None:
        self._items.clear()
        self._changes = self._conn.total_changes
