"""A SQLite database locked by another process past the busy timeout is a 503, not a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workyard.domain.models import Environment
from workyard.store import Insert, StoreUnavailableError
from workyard.store.sqlite.store import SqliteStore


async def test_a_lock_held_elsewhere_is_store_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    await store.open()
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    try:
        store._db.execute("PRAGMA busy_timeout=50")  # keep the test short
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        env = Environment("env_" + "0" * 32, "e", "", {"type": "cloud"}, {}, None, 1, 1)
        with pytest.raises(StoreUnavailableError):
            await store.commit([Insert(env)])
        other.execute("ROLLBACK")
        assert await store.commit([Insert(env)])  # and it recovers once the lock is gone
        assert await store.get_environment(env.id) == env
    finally:
        other.close()
        await store.close()
