"""The SQLite store never serves a work item it wrote from memory once anything else changed it."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

from tests.store.records import env, insert, session, work
from workyard.domain.models import WorkState
from workyard.store import Replace
from workyard.store.sqlite.checkpoint import Checkpointer
from workyard.store.sqlite.store import SqliteStore


def _wal_size(path: Path) -> int:
    return os.path.getsize(str(path) + "-wal")


async def _store_with_item(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    e = env(1)
    await insert(store, e, session(1, e.id, work_id=work(1, e.id).id), work(1, e.id))
    return store


async def test_another_connection_writing_a_row_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = await _store_with_item(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        item = await store.get_work(work(1, "").id)
        assert item is not None
        acked = replace(item, state=WorkState.STARTING, holder="w", version=item.version + 1)
        assert await store.commit([Replace(acked, item.version)])
        assert await store.get_work(item.id) == acked  # what this connection just wrote
        before = store.data_version()
        other.execute("UPDATE work_items SET state = 'stopped', version = version + 1")
        assert store.data_version() != before
        seen = await store.get_work(item.id)
        assert seen is not None
        assert (seen.state, seen.version) == (WorkState.STOPPED, acked.version + 1)
        # and a compare-and-set against the stale version misses
        assert not await store.commit([Replace(replace(acked, version=99), acked.version)])
    finally:
        other.close()
        await store.close()


async def test_own_writes_outside_commit_drop_the_cache(tmp_path: Path) -> None:
    store = await _store_with_item(tmp_path / "db.sqlite")
    try:
        assert await store.get_work(work(1, "").id) is not None
        await store.clear_all()
        assert await store.get_work(work(1, "").id) is None
    finally:
        await store.close()


async def test_cached_item_equals_a_fresh_read(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = await _store_with_item(path)
    try:
        item = await store.get_work(work(1, "").id)
        assert item is not None
        changed = replace(item, metadata={"b": "2", "a": "ü 1"}, version=2)
        assert await store.commit([Replace(changed, item.version)])
        cached = await store.get_work(item.id)
        fresh = SqliteStore(path)
        await fresh.open()
        try:
            from_disk = await fresh.get_work(item.id)
        finally:
            await fresh.close()
        assert cached == from_disk
        assert cached is not None and from_disk is not None
        assert list(cached.metadata) == list(from_disk.metadata)  # same key order too
    finally:
        await store.close()


async def test_the_checkpointer_empties_the_wal_without_the_store(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = await _store_with_item(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert _wal_size(path) > 0  # commits never checkpoint (wal_autocheckpoint=0)
        Checkpointer(path, truncate_bytes=0).run_once(conn)
        assert _wal_size(path) == 0  # the checkpointer's own connection truncated it
        assert await store.get_work(work(1, "").id) is not None
    finally:
        conn.close()
        await store.close()
