"""schema.sql must equal what the numbered migrations build."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from workyard.store.sql import load_queries, read_migrations
from workyard.store.sqlite.migrate import applied_versions, migrate, split_statements


def _schema(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables (columns as PRAGMA table_info reports them) and indexes (columns, partial clause)."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name"
        )
    ]
    shape: dict[str, object] = {}
    for table in tables:
        shape[table] = conn.execute(f"PRAGMA table_info({table})").fetchall()
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ):
        shape[f"index {name}"] = re.sub(r"\s+", " ", sql).strip()
    return shape


def test_schema_sql_equals_migrations(tmp_path: Path) -> None:
    migrated = sqlite3.connect(tmp_path / "migrated.db", isolation_level=None)
    applied = migrate(migrated)
    assert applied == [v for v, _, _ in read_migrations("workyard.store.sqlite")]

    declared = sqlite3.connect(tmp_path / "declared.db", isolation_level=None)
    text = resources.files("workyard.store.sqlite").joinpath("schema.sql").read_text()
    for statement in split_statements(text):
        declared.execute(statement)

    assert _schema(migrated) == _schema(declared)
    assert len(_schema(migrated)) > 5


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    first = migrate(conn)
    assert first
    assert migrate(conn) == []
    assert applied_versions(conn) == set(first)


def test_every_named_query_prepares(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    migrate(conn)
    queries = load_queries("workyard.store.sqlite")
    assert "claim_work" in queries
    for name, sql in queries.items():
        # EXPLAIN compiles the statement (catching typos and missing indexes) without running it.
        params = dict.fromkeys(re.findall(r":([a-z_]+)", sql))
        conn.execute(f"EXPLAIN {sql}", params)
        assert name


def test_hot_queries_use_their_index(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    migrate(conn)
    queries = load_queries("workyard.store.sqlite")
    for name, index in (
        ("claim_work", "work_queued"),
        ("due_work", "work_leases"),
        ("oldest_queued_created_at", "work_queued"),
    ):
        sql = queries[name]
        params = dict.fromkeys(re.findall(r":([a-z_]+)", sql))
        plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert index in plan, (name, plan)
        assert "SCAN work_items " not in plan + " ", (name, plan)
