"""``workyard db copy`` moves idempotency keys too (SQLite → PostgreSQL and back): a client that
retries after the move gets its first response again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.pg import PG_URL, fresh_schema
from tests.store.records import T0, env, insert, token
from workyard.store.base import Insert, Store
from workyard.store.copy import copy_store
from workyard.store.idempotency import CLAIM, IdempotencyClaim, IdempotencyRow
from workyard.store.postgres.store import PostgresStore
from workyard.store.sqlite.store import SqliteStore

pytestmark = pytest.mark.usefixtures("postgres_required")


@pytest.fixture
async def pg() -> AsyncIterator[PostgresStore]:
    async with fresh_schema() as schema:
        store = PostgresStore(PG_URL, schema=schema, pool_size=2)
        await store.open()
        try:
            yield store
        finally:
            await store.close()


async def _sqlite(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    return store


async def _keyed_write(store: Store, token_id: str, key: str, n: int) -> IdempotencyClaim:
    """A keyed request's first write: its key row is inserted in the write's transaction."""
    claim = IdempotencyClaim(token_id, key, f"hash-{n}", T0 + n, T0 - 1)
    reset = CLAIM.set(claim)
    try:
        assert await store.commit([Insert(env(n))])
    finally:
        CLAIM.reset(reset)
    assert claim.written
    return claim


async def _all_keys(store: Store) -> list[IdempotencyRow]:
    rows: list[IdempotencyRow] = []
    after = ("", "")
    while batch := await store.export_idempotency(after, 2):  # several batches
        rows.extend(batch)
        after = (batch[-1].token_id, batch[-1].key)
    return rows


async def test_keys_survive_a_copy_there_and_back(tmp_path: Path, pg: PostgresStore) -> None:
    source = await _sqlite(tmp_path / "source.db")
    back = await _sqlite(tmp_path / "back.db")
    try:
        await insert(source, token(1), token(2))
        claims = [
            await _keyed_write(source, token(1).id, "k-1", 1),
            await _keyed_write(source, token(1).id, "ключ ~ 2", 2),
            await _keyed_write(source, token(2).id, "k-1", 3),
            await _keyed_write(source, token(2).id, "in flight", 4),  # no response yet
        ]
        for claim, body in zip(claims[:3], (b'{"a":1}', b"\x00\xff binary", b""), strict=True):
            await source.finish_idempotency(claim, 201, body)
        keys = await _all_keys(source)
        assert len(keys) == 4 and [k.status for k in keys].count(None) == 1

        counts = await copy_store(source, pg)
        assert counts["idempotency_keys"] == 4
        assert await _all_keys(pg) == keys
        again = await pg.get_idempotency(token(1).id, "k-1", T0 - 1)
        assert again is not None and (again.status, again.body) == (201, b'{"a":1}')

        await insert(back, env(99))  # a non-empty target: --force clears it, keys included
        await copy_store(pg, back, force=True)
        assert await _all_keys(back) == keys
        assert (await back.table_counts())["environments"] == 4
    finally:
        await source.close()
        await back.close()
