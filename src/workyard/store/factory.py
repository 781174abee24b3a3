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


def open_store(url: str, *, synchronous: str = "NORMAL") -> Store:
    """A store for ``url`` (not yet opened)."""
    path = sqlite_path(url)
    if path is not None:
        from workyard.store.sqlite.store import SqliteStore

        return SqliteStore(path, synchronous=synchronous)
    raise ValueError(f"unsupported database URL {url.split(':', 1)[0]}:… (use sqlite:///path)")
