"""Which migrations a database has applied, and the refusal to run on a schema newer than us."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from workyard.store.factory import sqlite_path
from workyard.store.sql import read_migrations

__all__ = ["SchemaStatus", "SchemaTooNewError", "check_not_newer", "schema_status"]

_PACKAGES = {"sqlite": "workyard.store.sqlite", "postgres": "workyard.store.postgres"}
_APPLIED = "SELECT version, name FROM schema_migrations ORDER BY version"


class SchemaTooNewError(Exception):
    """The database was migrated by a newer workyard than this one."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    applied: list[tuple[int, str]]  # (version, name) as recorded in the database
    known: list[tuple[int, str]]  # (version, name) this code ships

    @property
    def pending(self) -> list[tuple[int, str]]:
        done = {version for version, _ in self.applied}
        return [(v, n) for v, n in self.known if v not in done]

    @property
    def unknown(self) -> list[tuple[int, str]]:
        """Applied migrations this code does not know (the schema is newer)."""
        known = {version for version, _ in self.known}
        return [(v, n) for v, n in self.applied if v not in known]


def known_migrations(backend: str) -> list[tuple[int, str]]:
    return [(version, name) for version, name, _ in read_migrations(_PACKAGES[backend])]


def check_not_newer(applied: set[int], backend: str) -> None:
    """Raise ``SchemaTooNewError`` when ``applied`` holds a version this code does not ship."""
    newest = max((v for v, _ in known_migrations(backend)), default=0)
    ahead = sorted(v for v in applied if v > newest)
    if ahead:
        raise SchemaTooNewError(
            f"the database schema is at migration {ahead[-1]} but this workyard knows only up to "
            f"{newest}: upgrade workyard (or restore a backup taken before the newer version ran)"
        )


async def schema_status(url: str) -> SchemaStatus:
    """Applied and known migrations of the database at ``url``, without changing it."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(f"no SQLite database at {path}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
            ).fetchone()
            rows = conn.execute(_APPLIED).fetchall() if exists else []
        finally:
            conn.close()
        applied = [(int(v), str(n)) for v, n in rows]
        return SchemaStatus(applied, known_migrations("sqlite"))
    if url.startswith(("postgresql://", "postgres://")):
        from workyard.store.postgres.store import PostgresStore

        pg = await PostgresStore(url).connect("-status")
        try:
            if await pg.fetchval("SELECT to_regclass('schema_migrations')") is None:
                records = []
            else:
                records = await pg.fetch(_APPLIED)
        finally:
            await pg.close()
        applied = [(int(r["version"]), str(r["name"])) for r in records]
        return SchemaStatus(applied, known_migrations("postgres"))
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unsupported database URL {scheme}:… (use sqlite:///path or postgresql://…)")
