"""``workyard db status`` lists applied and pending migrations; a newer schema stops ``serve``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.ops.cli_support import run_cli
from tests.pg import fresh_schema_sync, require_postgres, schema_url
from workyard.store.schema import known_migrations

KNOWN = known_migrations("sqlite")
assert known_migrations("postgres") == KNOWN
NEWEST = KNOWN[-1][0]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(backend, url)`` of an empty database."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'wy.db'}"
        return
    require_postgres()
    with fresh_schema_sync() as schema:
        yield "postgres", schema_url(schema)


def _record_future_migration(backend: str, url: str) -> None:
    sql = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute(sql)
        conn.close()
        return

    async def insert() -> None:
        conn = await asyncpg.connect(url.replace("%3D", "="))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(insert())


def test_status_shows_pending_then_applied(database: tuple[str, str]) -> None:
    backend, url = database
    if backend == "sqlite":  # SQLite: no file yet is an error; an empty file has all pending
        assert run_cli("db", "status", "--database-url", url).returncode == 1
        sqlite3.connect(url.removeprefix("sqlite:///")).close()
    before = run_cli("db", "status", "--database-url", url)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[:-1] == [f"pending  {v:04d}_{n}" for v, n in KNOWN]
    assert lines[-1].startswith(f"{len(KNOWN)} pending")

    assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
    after = run_cli("db", "status", "--database-url", url)
    assert after.stdout.splitlines() == [f"applied  {v:04d}_{n}" for v, n in KNOWN] + ["up to date"]


def test_serve_refuses_a_schema_newer_than_the_code(
    database: tuple[str, str], tmp_path: Path
) -> None:
    backend, url = database
    assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
    _record_future_migration(backend, url)

    data = tmp_path / "data"
    served = run_cli("serve", "--port", "0", "--data-dir", str(data), "--database-url", url)
    assert served.returncode == 1 and "Traceback" not in served.stderr
    assert served.stderr.strip().splitlines() == [
        f"error: the database schema is at migration 999 but this workyard knows only up to "
        f"{NEWEST}: upgrade workyard (or restore a backup taken before the newer version ran)"
    ]
    assert not (data / "admin.token").exists()

    status = run_cli("db", "status", "--database-url", url)
    assert status.returncode == 1
    assert "applied  0999_future  (newer than this workyard)" in status.stdout
    assert run_cli("db", "upgrade", "--database-url", url).returncode == 1
