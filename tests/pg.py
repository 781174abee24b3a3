"""PostgreSQL for tests: ``WORKYARD_TEST_POSTGRES_URL``; each test gets a fresh schema.

When PostgreSQL is unreachable the PostgreSQL tests skip with the reason — except under ``CI=true``,
where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import cache

import asyncpg
import pytest

PG_URL = os.environ.get("WORKYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@cache
def _unreachable_reason() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=5)
        await conn.close()

    try:
        # A thread of its own: this may be called while an event loop runs in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except Exception as exc:  # any failure to connect means "unreachable"
        return f"PostgreSQL unreachable at WORKYARD_TEST_POSTGRES_URL ({type(exc).__name__}: {exc})"
    return None


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) the calling test when PostgreSQL cannot be reached."""
    reason = _unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " — PostgreSQL tests must run under CI=true")
    pytest.skip(reason)


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A new empty schema, dropped afterwards."""
    schema = f"wy_test_{secrets.token_hex(6)}"
    await _execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        await _execute(f'DROP SCHEMA "{schema}" CASCADE')


def schema_url(schema: str) -> str:
    """A database URL whose connections use ``schema`` and are named after it (for processes)."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"


@contextmanager
def fresh_schema_sync() -> Iterator[str]:
    """``fresh_schema`` for synchronous tests (end-to-end tests driving processes)."""
    schema = f"wy_test_{secrets.token_hex(6)}"
    asyncio.run(_execute(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        asyncio.run(_execute(f'DROP SCHEMA "{schema}" CASCADE'))
