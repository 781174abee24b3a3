"""Work items as the database holds them, so an item this server just wrote is not read back.

Safe because the server's connection is the only writer of work rows it does not see: every row
it writes or reads through the store is remembered exactly as the database returns it, and the
whole cache is dropped when anything else may have changed a row —

* another connection committed (``PRAGMA data_version`` moved: CLI commands, ``workyard db``
  tools, a second process on the same file), or
* this connection changed rows the cache was not told about (``total_changes`` moved past the
  count recorded after the last write it was told about).
"""

from __future__ import annotations

import sqlite3

from workyard.domain.models import WorkItem
from workyard.store.base import StoreUnavailableError

__all__ = ["WorkCache"]


class WorkCache:
    def __init__(self, conn: sqlite3.Connection, limit: int = 4096) -> None:
        self._conn = conn
        self._limit = limit
        self._items: dict[str, WorkItem] = {}
        self._data_version = self.data_version()
        self._changes = conn.total_changes

    def data_version(self) -> int:
        """Changes only when another connection commits to the file (about a microsecond)."""
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    def get(self, work_id: str) -> WorkItem | None:
        """The item, if cached and provably current; ``None`` means "ask the database"."""
        if not self._items:
            return None
        self.check_own()
        version = self.data_version()
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

    def clear(self) -> None:
        self._items.clear()
        self._changes = self._conn.total_changes
