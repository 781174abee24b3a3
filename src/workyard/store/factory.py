"""Pick a store backend from a database URL."""

from __future__ import annotations

from pathlib import Path

from workyard.store.base import Store

__all__ = ["open_store", "sqlite_path"]


def sqlite_path(url: str) -> Path | None:
    """The file path of a ``sqlite:///path`` URL, or ``None`` for other schemes."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite://"):
        return Path(url.removeprefix("sqlite://"))
    return None


def open_store(url: str, *, synchronous: str = "NORMAL", pool_size: int = 8) -> Store:
    """A store for ``url`` (not yet opened): ``sqlite:///path`` or ``postgresql://…``."""
    path = sqlite_path(url)
    if path is not None:
        from workyard.store.sqlite.store import SqliteStore

        return SqliteStore(path, synchronous=synchronous)
    if url.startswith(("postgresql://", "postgres://")):
        from workyard.store.postgres.store import PostgresStore

        return PostgresStore(url, pool_size=pool_size)
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unsupported database URL {scheme}:… (use sqlite:///path or postgresql://…)")
