"""Retention statements for the PostgreSQL store (each one short autocommit statement)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from workyard.clock import Instant
from workyard.store.base import PRUNE_END

__all__ = ["PostgresPruning"]


class PostgresPruning:
    """The ``Store`` retention methods, mixed into ``PostgresStore`` (which provides these two)."""

    _all: Callable[..., Awaitable[list[Any]]]

    def _conn(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        raise NotImplementedError

    async def prune_scan(self, table: str, after: str, limit: int) -> str:
        name = "prune_scan_work" if table == "work_items" else "prune_scan_sessions"
        found = await self._all(name, lambda r: str(r["id"]), after=after, offset=limit - 1)
        return found[0] if found else PRUNE_END

    async def prune_work(self, before: Instant, after: str, upto: str) -> int:
        return await self._prune_count("prune_work", before=before, after=after, upto=upto)

    async def prunable_sessions(self, before: Instant, after: str, upto: str) -> list[str]:
        return await self._all(
            "prunable_sessions", lambda r: str(r["id"]), before=before, after=after, upto=upto
        )

    async def prune_session_part(self, part: str, session_ids: Sequence[str], limit: int) -> int:
        params = {"ids": list(session_ids), "limit": limit}
        return await self._prune_count(f"prune_session_{part}", **params)

    async def count_prunable(self, before: Instant) -> dict[str, int]:
        rows = await self._all("count_prunable", dict, before=before)
        return {key: int(value) for key, value in rows[0].items()}

    async def _prune_count(self, name: str, **params: object) -> int:
        from workyard.store.postgres.store import Q

        q = Q[name]
        async with self._conn() as conn:
            status: str = await conn.execute(q.sql, *q.args(dict(params)))
        return int(status.rsplit(" ", 1)[-1])
