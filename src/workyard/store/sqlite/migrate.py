"""Numbered migrations for SQLite, recorded in ``schema_migrations``."""

from __future__ import annotations

import sqlite3
import time

from workyard.store.schema import check_not_newer
from workyard.store.sql import read_migrations

__all__ = ["applied_versions", "migrate", "split_statements"]

_PACKAGE = "workyard.store.sqlite"
_TRACKING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)"""


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (comments and blank lines dropped)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError("incomplete SQL statement at the end of a script")
    return statements


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    conn.execute(_TRACKING)
    return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied."""
    check_not_newer(applied_versions(conn), "sqlite")
    done: list[int] = []
    for version, name, script in read_migrations(_PACKAGE):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version in applied_versions(conn):
                conn.execute("ROLLBACK")
                continue
            for statement in split_statements(script):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, time.time_ns() // 1000),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        done.append(version)
    return done
