"""Store fixtures: ``any_store`` is an opened store on each backend, in a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.pg import PG_URL, fresh_schema, require_postgres
from workyard.store.base import Store
from workyard.store.postgres.store import PostgresStore
from workyard.store.sqlite.store import SqliteStore


# require_postgres() probes with asyncio.run(), so it must run in a synchronous fixture (before the
# test's event loop is running); calling it from an async fixture would cache a bogus failure.
@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres":
        require_postgres()
    return name


@pytest.fixture
def postgres_required() -> None:
    require_postgres()


@pytest.fixture
async def any_store(store_backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store (SQLite file in ``tmp_path`` or PostgreSQL in a fresh schema)."""
    store: Store
    if store_backend == "sqlite":
        store = SqliteStore(tmp_path / "db.sqlite")
        await store.open()
        try:
            yield store
        finally:
            await store.close()
        return
    async with fresh_schema() as schema:
        store = PostgresStore(PG_URL, schema=schema)
        await store.open()
        try:
            yield store
        finally:
            await store.close()


@pytest.fixture
async def pg_schema(postgres_required: None) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL schema (skips when PostgreSQL is unreachable)."""
    async with fresh_schema() as schema:
        yield schema


@pytest.fixture
async def pg_store(pg_schema: str) -> AsyncIterator[PostgresStore]:
    """An opened ``PostgresStore`` on ``pg_schema``."""
    store = PostgresStore(PG_URL, schema=pg_schema, pool_size=8)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
