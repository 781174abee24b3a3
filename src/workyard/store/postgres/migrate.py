"""Numbered PostgreSQL migrations, applied under an advisory lock (replicas may start together)."""

from __future__ import annotations

import time

import asyncpg

from workyard.store.schema import check_not_newer
from workyard.store.sql import read_migrations

__all__ = ["LOCK_KEY", "migrate"]

LOCK_KEY = 0x776F726B79617264  # "workyard"
_TRACKING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)"""


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(_TRACKING)
        rows = await conn.fetch("SELECT version FROM schema_migrations")
        applied = {int(r["version"]) for r in rows}
        check_not_newer(applied, "postgres")
        done: list[int] = []
        for version, name, script in read_migrations("workyard.store.postgres"):
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(script)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    version,
                    name,
                    time.time_ns() // 1000,
                )
            done.append(version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
